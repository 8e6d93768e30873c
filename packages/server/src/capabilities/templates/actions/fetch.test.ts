import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actionHarness, type Harness } from '../../../../../../test/support/template-actions.ts';
import { createActionRegistry } from './builtin.ts';

const registry = createActionRegistry({ limits: { maxFiles: 20, maxBytes: 4096 } });
const fetchTemplate = registry.get('fetch:template');
const fetchPlain = registry.get('fetch:plain');

describe('fetch:template and fetch:plain', () => {
  let h: Harness;
  beforeEach(() => {
    h = actionHarness();
  });
  afterEach(async () => {
    await h.close();
  });
  const ws = (p: string) => readFileSync(join(h.workspace, p), 'utf8');

  it('renders contents and file and folder names, keeps executable bits, copies binaries as they are', async () => {
    h.file('skeleton/README.md', '# ${{ values.name }}\n{%- if values.db %}\nwith a database{% endif %}\n');
    h.file('skeleton/src/${{ values.name }}.js', "export const name = '${{ values.name }}';\n");
    h.file('skeleton/${{ values.name }}-dir/run.sh', '#!/bin/sh\necho ${{ values.name }}\n', 0o755);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0x24, 0x7b, 0x7b]);
    h.file('skeleton/logo.png', png);
    const { log } = await h.run(fetchTemplate, { url: './skeleton', values: { name: 'orders', db: true } });
    expect(ws('README.md')).toBe('# orders\nwith a database\n');
    expect(ws('src/orders.js')).toBe("export const name = 'orders';\n");
    expect(ws('orders-dir/run.sh')).toBe('#!/bin/sh\necho orders\n');
    expect(statSync(join(h.workspace, 'orders-dir/run.sh')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(h.workspace, 'logo.png')).equals(png)).toBe(true);
    expect(log.join('\n')).toContain('4 files written to .');
  });

  it('writes under targetPath, leaves out files whose name renders empty, honours copyWithoutRender', async () => {
    h.file('skeleton/{% if values.docs %}docs.md{% endif %}', 'docs');
    h.file('skeleton/static/page.html', '<p>${{ not rendered }}</p>');
    h.file('skeleton/app.txt', '${{ values.name }}');
    await h.run(fetchTemplate, {
      url: 'skeleton',
      targetPath: 'out/app',
      values: { name: 'x', docs: false },
      copyWithoutRender: ['static/**'],
    });
    expect(readdirSync(join(h.workspace, 'out/app')).sort()).toEqual(['app.txt', 'static']);
    expect(ws('out/app/static/page.html')).toBe('<p>${{ not rendered }}</p>');
    expect(ws('out/app/app.txt')).toBe('x');
  });

  it('templateFileExtension: only *.njk files are rendered, and lose the extension', async () => {
    h.file('skeleton/a.txt.njk', '${{ values.v }}');
    h.file('skeleton/b.txt', '${{ values.v }}');
    await h.run(fetchTemplate, { url: './skeleton', values: { v: 1 }, templateFileExtension: true });
    expect(ws('a.txt')).toBe('1');
    expect(ws('b.txt')).toBe('${{ values.v }}');
  });

  it('fetch:plain copies without rendering; cookiecutterCompat and bad input are refused clearly', async () => {
    h.file('skeleton/${{ values.x }}.txt', '${{ values.x }}');
    await h.run(fetchPlain, { url: './skeleton', targetPath: 'plain' });
    expect(ws('plain/${{ values.x }}.txt')).toBe('${{ values.x }}');
    await expect(h.run(fetchTemplate, { url: './skeleton', cookiecutterCompat: true })).rejects.toMatchObject({
      code: 'TEMPLATE_INVALID',
      message: expect.stringContaining('cookiecutterCompat is not supported'),
    });
    await expect(h.run(fetchTemplate, { targetPath: 3 }, { stepId: 'fetch-base' })).rejects.toMatchObject({
      code: 'TEMPLATE_INVALID',
      message: expect.stringMatching(/step fetch-base .*required property 'url'.*input\.targetPath: must be string/),
    });
    await expect(h.run(fetchTemplate, { url: 'https://github.com/acme/skeleton' })).rejects.toMatchObject({
      code: 'TEMPLATE_ACTION_NOT_CONFIGURED',
    });
    await expect(h.run(fetchTemplate, { url: './missing' })).rejects.toMatchObject({
      code: 'TEMPLATE_ACTION_FAILED',
    });
  });

  it('a skeleton over the file or byte limit is refused before anything is written', async () => {
    for (let i = 0; i < 21; i++) h.file(`many/f${i}.txt`, 'x');
    await expect(h.run(fetchPlain, { url: './many' })).rejects.toMatchObject({
      code: 'TEMPLATE_ACTION_FAILED',
      message: expect.stringContaining('more than 20 files'),
    });
    h.file('big/blob.bin', Buffer.alloc(5000, 1));
    await expect(h.run(fetchPlain, { url: './big' })).rejects.toMatchObject({
      message: expect.stringContaining('more than 4096 bytes'),
    });
    expect(readdirSync(h.workspace)).toEqual([]);
  });

  it('the limits hold for the whole workspace, over several fetches', async () => {
    for (let i = 0; i < 12; i++) h.file(`half/f${i}.txt`, 'x');
    await h.run(fetchPlain, { url: './half', targetPath: 'one' });
    await expect(h.run(fetchPlain, { url: './half', targetPath: 'two' })).rejects.toMatchObject({
      message: expect.stringContaining('the workspace in all: more than 20 files'),
    });
  });

  it('a render that grows a small file past the byte limit is stopped', async () => {
    h.file('grow/a.txt', '{% for i in range(0, 100) %}${{ values.s }}{% endfor %}');
    await expect(h.run(fetchTemplate, { url: './grow', values: { s: 'y'.repeat(100) } })).rejects.toMatchObject({
      message: expect.stringContaining('more than 4096 bytes'),
    });
    expect(lstatSync(h.workspace).isDirectory()).toBe(true);
  });
});

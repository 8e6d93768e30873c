import { afterAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { createRenderer } from '../../packages/server/src/capabilities/templates/render/renderer.ts';

// Templates come from any catalog location, so a template author attacks the control plane
// through ${{ }}. The sandbox is a separate process under Node's permission model (no file, no
// process, an empty environment) so that even an escape reaches nothing; here: Nunjucks' known
// sandbox escapes (constructor chains from globals, strings,
// cycler and joiner, prototype tricks) to reach `process` or `require`; file reads through
// include/import/extends; a render that loops forever; allocations without end. Each is refused
// (TEMPLATE_RENDER_FAILED) or stopped (TEMPLATE_RENDER_LIMIT), renders in the same batch are not
// harmed, and the renderer answers the next render as before.

const TIMEOUT_MS = 1000;
const renderer = createRenderer({ timeoutMs: TIMEOUT_MS, memoryMb: 64 });
afterAll(() => renderer.close());

const ctx = {
  parameters: { name: 'payments' },
  steps: {},
  user: { ref: 'user:default/mallory' },
};

async function outcome(p: Promise<unknown>): Promise<{ value?: unknown; error?: IdpError }> {
  try {
    return { value: await p };
  } catch (err) {
    expect(err).toBeInstanceOf(IdpError);
    return { error: err as IdpError };
  }
}

const ESCAPES = [
  '${{ range.constructor("return process")() }}',
  '${{ range.constructor("return process.pid")() }}',
  '${{ "".constructor.constructor("return process")() }}',
  "${{ ''['constructor']['constructor']('return process.env')() }}",
  '${{ range["constr" + "uctor"]("return process")() }}',
  '${{ cycler.constructor("return process")() }}',
  '${{ joiner.constructor("return process")() }}',
  '${{ cycler(1, 2).next.constructor("return process")() }}',
  '${{ joiner().constructor.constructor("return process")() }}',
  '{% set f = range %}${{ f.constructor("return process")() }}',
  '{% macro m() %}x{% endmacro %}${{ m.constructor("return process")() }}',
  '${{ constructor.getOwnPropertyDescriptor(constructor.getPrototypeOf(range), "constructor").value("return process")() }}',
  '${{ parameters.__proto__.constructor }}',
  '${{ parameters.__lookupGetter__("__proto__") }}',
  '${{ range.prototype }}',
  '${{ range.caller }}',
  '${{ [].concat.constructor("return process")() }}',
  '${{ "x".toString.constructor("return process")() }}',
  '${{ ([] | list).constructor.constructor("return process")() }}',
];

describe('template sandbox', () => {
  it('runs in a process that may read, write, start and see nothing of the control plane', async () => {
    expect(await renderer.probe()).toEqual({
      confined: true,
      fsRead: false,
      fsWrite: false,
      childProcess: false,
      workerThreads: false,
      env: ['IDP_RENDER_MAX_OUTPUT'],
    });
  });

  it.each(ESCAPES)('refuses %s', async (payload) => {
    const { value, error } = await outcome(renderer.renderValue({ x: payload }, ctx, 'step evil'));
    expect(value).toBeUndefined();
    expect(error?.code).toBe('TEMPLATE_RENDER_FAILED');
    expect(error?.message).toMatch(/^step evil\.x \(line 1\): templates may not (read|create)/);
  });

  it('gives names outside the context nothing: process, require, global, globalThis, module', async () => {
    for (const name of ['process', 'require', 'global', 'globalThis', 'module', 'Function', 'eval', 'import']) {
      const { value } = await outcome(renderer.renderText(`[\${{ ${name} }}]`, { values: {} }, 'f.txt'));
      expect(value, name).toBe('[]');
    }
    // Classic Jinja-style payloads in {{ }} are plain text here (Backstage's delimiters are ${{ }}).
    expect(await renderer.renderText('{{ "".constructor.constructor("return process")() }}', {}, 'f.txt')).toBe(
      '{{ "".constructor.constructor("return process")() }}',
    );
  });

  it('reads no file through include, import or extends', async () => {
    for (const payload of [
      '{% include "/etc/passwd" %}',
      '{% include "../../../../etc/passwd" %}',
      '{% import "/etc/passwd" as p %}',
      '{% extends "/etc/passwd" %}',
      '{% from "/etc/passwd" import x %}',
    ]) {
      const { value, error } = await outcome(renderer.renderText(payload, {}, 'f.txt'));
      expect(value, payload).toBeUndefined();
      expect(error?.code).toBe('TEMPLATE_RENDER_FAILED');
      expect(error?.message).toContain('template not found');
    }
  });

  it('stops a render that loops without end, within its time limit', async () => {
    const t0 = Date.now();
    const { error } = await outcome(
      renderer.renderText(
        '{% for i in range(0, 100000) %}{% for j in range(0, 100000) %}{% endfor %}{% endfor %}',
        {},
        'loop.txt',
      ),
    );
    expect(error?.code).toBe('TEMPLATE_RENDER_LIMIT');
    expect(error?.message).toBe(`loop.txt: the render ran longer than ${TIMEOUT_MS} ms and was stopped`);
    expect(Date.now() - t0).toBeLessThan(TIMEOUT_MS * 5);
  });

  it.each([
    ['a 100-million-number range', '{% for i in range(0, 100000000) %}x{% endfor %}'],
    [
      'an array doubled 40 times',
      '{% set a = [1] %}{% for i in range(0, 40) %}{% set a = a.concat(a) %}{% endfor %}${{ a | length }}',
    ],
    [
      'a string doubled 40 times',
      '{% set s = "xxxxxxxx" %}{% for i in range(0, 40) %}{% set s = s + s %}{% endfor %}${{ s }}',
    ],
    ['a padded string of 400 MB', '${{ "x".padEnd(400000000) }}'],
    ['a centered string of 1 GB', '${{ "x" | center(1000000000) }}'],
  ])('stops %s (memory or size) without harming the control plane', async (_name, payload) => {
    const { value, error } = await outcome(renderer.renderText(payload, {}, 'bomb.txt'));
    expect(value).toBeUndefined();
    // A string past V8's length is a RangeError inside the sandbox; everything else hits a limit.
    expect(['TEMPLATE_RENDER_LIMIT', 'TEMPLATE_RENDER_FAILED']).toContain(error?.code);
    if (error?.code === 'TEMPLATE_RENDER_FAILED') expect(error.message).toMatch(/Invalid (string|array) length/);
    else
      expect(error?.message).toMatch(
        /^bomb\.txt: the (render used more than 64 MiB|render ran longer than|output grew to \d+ characters)/,
      );
  });

  it('fails only the bomb in a batch: the files rendered with it come out right', async () => {
    const files = Array.from({ length: 10 }, (_, i) => `file ${i}: \${{ values.name }}`);
    const results = await Promise.all([
      ...files.slice(0, 5).map((f, i) => outcome(renderer.renderText(f, { values: { name: 'ok' } }, `f${i}`))),
      outcome(
        renderer.renderText(
          '{% set a = [1] %}{% for i in range(0, 40) %}{% set a = a.concat(a) %}{% endfor %}',
          {},
          'bomb',
        ),
      ),
      outcome(
        renderer.renderText(
          '{% for i in range(0, 100000) %}{% for j in range(0, 100000) %}{% endfor %}{% endfor %}',
          {},
          'loop',
        ),
      ),
      ...files.slice(5).map((f, i) => outcome(renderer.renderText(f, { values: { name: 'ok' } }, `f${i + 5}`))),
    ]);
    expect(results.map((r) => r.value ?? r.error?.code)).toEqual([
      'file 0: ok',
      'file 1: ok',
      'file 2: ok',
      'file 3: ok',
      'file 4: ok',
      'TEMPLATE_RENDER_LIMIT',
      'TEMPLATE_RENDER_LIMIT',
      'file 5: ok',
      'file 6: ok',
      'file 7: ok',
      'file 8: ok',
      'file 9: ok',
    ]);
  });

  it('renders fine afterwards: the sandbox recovers', async () => {
    expect(await renderer.renderValue({ n: '${{ parameters.name | upper }}' }, ctx)).toEqual({ n: 'PAYMENTS' });
    expect(await renderer.renderText('hello ${{ values.who }}', { values: { who: 'world' } }, 'x')).toBe('hello world');
  });
});

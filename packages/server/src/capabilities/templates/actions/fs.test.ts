import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actionHarness, type Harness } from '../../../../../../test/support/template-actions.ts';
import { createActionRegistry } from './builtin.ts';

const registry = createActionRegistry();

describe('fs:rename, fs:delete, debug:log', () => {
  let h: Harness;
  beforeEach(() => {
    h = actionHarness();
    mkdirSync(join(h.workspace, 'docs/old'), { recursive: true });
    writeFileSync(join(h.workspace, 'docs/old/a.md'), 'a');
    writeFileSync(join(h.workspace, 'keep.txt'), 'keep');
    writeFileSync(join(h.workspace, 'x.tmp'), 'tmp');
  });
  afterEach(async () => {
    await h.close();
  });

  it('renames inside the workspace, refusing to overwrite unless asked', async () => {
    await h.run(registry.get('fs:rename'), { files: [{ from: 'docs/old', to: 'docs/new' }] });
    expect(readFileSync(join(h.workspace, 'docs/new/a.md'), 'utf8')).toBe('a');
    await expect(
      h.run(registry.get('fs:rename'), { files: [{ from: 'x.tmp', to: 'keep.txt' }] }),
    ).rejects.toMatchObject({ code: 'TEMPLATE_ACTION_FAILED', message: expect.stringContaining('overwrite: true') });
    await h.run(registry.get('fs:rename'), { files: [{ from: 'x.tmp', to: 'keep.txt', overwrite: true }] });
    expect(readFileSync(join(h.workspace, 'keep.txt'), 'utf8')).toBe('tmp');
    await expect(h.run(registry.get('fs:rename'), { files: [{ from: 'nope', to: 'b' }] })).rejects.toMatchObject({
      code: 'TEMPLATE_ACTION_FAILED',
    });
  });

  it('deletes what the globs match, links themselves and not what they point at', async () => {
    symlinkSync(join(h.workspace, 'keep.txt'), join(h.workspace, 'link.tmp'));
    const { log } = await h.run(registry.get('fs:delete'), { files: ['**/*.tmp', 'docs'] });
    expect(existsSync(join(h.workspace, 'x.tmp'))).toBe(false);
    expect(existsSync(join(h.workspace, 'docs'))).toBe(false);
    expect(existsSync(join(h.workspace, 'link.tmp'))).toBe(false);
    expect(readFileSync(join(h.workspace, 'keep.txt'), 'utf8')).toBe('keep');
    expect(log[0]).toBe('fs:delete: docs, link.tmp, x.tmp');
  });

  it('debug:log writes the message and the workspace listing', async () => {
    const { log } = await h.run(registry.get('debug:log'), { message: 'hello', listWorkspace: true });
    expect(log).toEqual(['hello', 'workspace: 3 files', '  docs/old/a.md', '  keep.txt', '  x.tmp']);
    const withContents = await h.run(registry.get('debug:log'), { listWorkspace: 'with-contents' });
    expect(withContents.log).toContain('  keep.txt:\nkeep');
  });
});

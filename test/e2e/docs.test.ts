import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderErrorsMarkdown, renderOpenApi } from '../../scripts/docs.ts';
import { ROOT } from '../support/server.ts';

describe('generated docs', () => {
  it('docs/errors.md documents exactly the error catalogue', () => {
    expect(readFileSync(join(ROOT, 'docs/errors.md'), 'utf8'), 'run `npm run docs:generate`').toBe(renderErrorsMarkdown());
  });

  it('docs/openapi.json matches what the server serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-openapi-'));
    try {
      const served = await renderOpenApi(dir);
      expect(readFileSync(join(ROOT, 'docs/openapi.json'), 'utf8'), 'run `npm run docs:generate`').toBe(served);
      const doc = JSON.parse(served);
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/whoami', '/api/tokens', '/api/audit', '/api/policy/check']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Regenerates docs/errors.md and docs/openapi.json from the code. A test fails when the
// committed files drift from what this script would write.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderErrorsMarkdown, renderOpenApi } from './docs.ts';

const root = resolve(import.meta.dirname, '..');
writeFileSync(join(root, 'docs/errors.md'), renderErrorsMarkdown());
const dataDir = mkdtempSync(join(tmpdir(), 'idp-docs-'));
try {
  writeFileSync(join(root, 'docs/openapi.json'), await renderOpenApi(dataDir));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
process.stderr.write('wrote docs/errors.md and docs/openapi.json\n');

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderErrorsMarkdown, renderOpenApi } from '../../scripts/docs.ts';
import { ROOT } from '../support/server.ts';

describe('generated docs', () => {
  it('docs/errors.md documents exactly the error catalogue', () => {
    expect(readFileSync(join(ROOT, 'docs/errors.md'), 'utf8'), 'run `npm run docs:generate`').toBe(
      renderErrorsMarkdown(),
    );
  });

  it('docs/openapi.json matches what the server serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-openapi-'));
    try {
      const served = await renderOpenApi(dir);
      expect(readFileSync(join(ROOT, 'docs/openapi.json'), 'utf8'), 'run `npm run docs:generate`').toBe(served);
      const doc = JSON.parse(served);
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/api/whoami', '/api/tokens', '/api/audit', '/api/policy/check']),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every operation in /openapi.json has a unique camelCase operationId', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-openapi-'));
    try {
      const doc = JSON.parse(await renderOpenApi(dir)) as {
        paths: Record<string, Record<string, { operationId?: string }>>;
      };
      const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, id: op.operationId })),
      );
      expect(ops.length).toBeGreaterThan(50);
      expect(
        ops.filter((o) => !/^[a-z][a-zA-Z0-9]*$/.test(o.id ?? '')).map((o) => o.at),
        'operations without a camelCase operationId',
      ).toEqual([]);
      const seen = new Map<string, string>();
      const dup = ops
        .filter((o) => seen.has(o.id!) || !seen.set(o.id!, o.at))
        .map((o) => `${o.id}: ${seen.get(o.id!)} and ${o.at}`);
      expect(dup, 'operationIds used twice').toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** README.md, CONTRIBUTING.md and every .md under docs/, relative to the repository. */
function docFiles(): string[] {
  const docs = (readdirSync(join(ROOT, 'docs'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f));
  return ['README.md', 'CONTRIBUTING.md', ...docs];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function anchorsOf(markdown: string): Set<string> {
  const headings = markdown.replace(/^```[\s\S]*?^```/gm, '').match(/^#{1,6} .+$/gm) ?? [];
  return new Set(
    headings.map((h) =>
      h
        .replace(/^#+ /, '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

describe('docs links', () => {
  it('every relative link in README.md, CONTRIBUTING.md and docs/ resolves to a file (and heading) in the repository', () => {
    const broken: string[] = [];
    for (const file of docFiles()) {
      // Code blocks and inline code are examples, not links.
      const text = readFileSync(join(ROOT, file), 'utf8')
        .replace(/^```[\s\S]*?^```/gm, '')
        .replace(/`[^`\n]*`/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // https:, mailto:
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const abs = path ? resolve(ROOT, dirname(file), path) : join(ROOT, file);
        if (relative(ROOT, abs).startsWith('..')) broken.push(`${file}: ${target} leaves the repository`);
        else if (!existsSync(abs)) broken.push(`${file}: ${target} does not exist`);
        else if (anchor && abs.endsWith('.md') && !anchorsOf(readFileSync(abs, 'utf8')).has(anchor))
          broken.push(`${file}: ${target} names no heading`);
      }
    }
    expect(broken).toEqual([]);
  });
});

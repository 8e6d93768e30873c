import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hintPlaceholders } from './error-hints.ts';
import { ERROR_CODES, IdpError, type ErrorCode, type ErrorCodeSpec } from './errors.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

/** The details each code's hint is filled from, as the code that throws it gives them. */
const FILLED_FROM: Partial<Record<ErrorCode, Record<string, unknown>>> = {
  CATALOG_LOCATION_EXISTS: { id: 'loc_7f3a' },
  SECRET_NOT_FOUND: { path: 'staging/payments-api/STRIPE_KEY' },
  ENV_EXISTS: { name: 'feature-payments' },
  ENV_NAME_RESERVED: { name: 'staging' },
  ENV_QUOTA_EXCEEDED: { owned: 5, yours: ['feature-a', 'feature-b'] },
  ENV_BASE_PROTECTED: { name: 'staging' },
  ENV_NOT_READY: { name: 'feature-payments', status: 'provisioning' },
  DEPLOY_TEAM_MISMATCH: { expected: 'payments' },
  RELEASE_NOT_FOUND: { service: 'payments-api', version: 'abc' },
  DEPLOYMENT_NOT_FOUND: { service: 'payments-api', env: 'staging' },
  DEPLOY_IN_PROGRESS: { id: 'dep_42' },
  DEPLOY_NOT_ACTIVE: { id: 'dep_42', status: 'healthy' },
  ROLLBACK_TARGET_INVALID: { service: 'payments-api', env: 'staging' },
};

/**
 * Throw sites that cannot fill the hint, with the reason: the catalogue's default is shown there.
 * `file:code` → why.
 */
const CANNOT_FILL: Record<string, string> = {
  'packages/server/src/capabilities/deployments/service.ts:DEPLOYMENT_NOT_FOUND':
    'an unknown deployment id names no service or environment',
};

/** Every non-test TypeScript file under the packages and providers (or those under `only`). */
function sources(only?: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules') continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
    }
  };
  for (const top of ['packages', 'providers'])
    for (const pkg of readdirSync(join(ROOT, top))) {
      const src = join(ROOT, top, pkg, 'src');
      if (only && !only.includes(`${top}/${pkg}`)) continue;
      if (statSync(src, { throwIfNoEntry: false })?.isDirectory()) walk(src);
    }
  return out;
}

/** The text of each `new IdpError('CODE', …)` call: from its opening to its matching parenthesis. */
function throwSites(file: string): Array<{ code: string; text: string; line: number }> {
  const src = readFileSync(file, 'utf8');
  const sites: Array<{ code: string; text: string; line: number }> = [];
  for (const m of src.matchAll(/new IdpError\(\s*'([A-Z_]+)'/g)) {
    let depth = 0;
    let end = m.index;
    for (let i = m.index + 'new IdpError'.length; i < src.length; i++) {
      if (src[i] === '(') depth++;
      else if (src[i] === ')' && --depth === 0) {
        end = i;
        break;
      }
    }
    sites.push({ code: m[1]!, text: src.slice(m.index, end + 1), line: src.slice(0, m.index).split('\n').length });
  }
  return sites;
}

describe('error hints', () => {
  it('no catalogue hint holds a placeholder: the default is shown when the details cannot fill one', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) expect(hintPlaceholders(spec.hint), code).toEqual([]);
  });

  it.each(Object.entries(FILLED_FROM))('%s: the hint is filled from the details', (code, details) => {
    const hint = new IdpError(code as ErrorCode, 'x', details).hint;
    expect(hint).not.toBe(ERROR_CODES[code as ErrorCode].hint);
    expect(hintPlaceholders(hint)).toEqual([]);
    const values = Object.values(details).flatMap((v) => (Array.isArray(v) ? v : String(v).split('/')));
    const named = values.filter((v) => typeof v === 'string' && hint.includes(v));
    expect(named.length, hint).toBeGreaterThan(0);
  });

  it('every code with a fillable hint is listed above, and a thrower-given hint wins', () => {
    const fillable = Object.entries(ERROR_CODES)
      .filter(([, spec]) => (spec as ErrorCodeSpec).hintFor)
      .map(([code]) => code)
      .sort();
    expect(fillable).toEqual(Object.keys(FILLED_FROM).sort());
    expect(new IdpError('ENV_EXISTS', 'x', { name: 'a', hint: 'Do this.' }).hint).toBe('Do this.');
    expect(new IdpError('ENV_EXISTS', 'x', {}).hint).toBe(ERROR_CODES.ENV_EXISTS.hint);
  });

  it('every place that throws one of them gives the details its hint is filled from (or a hint of its own)', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const file of sources()) {
      for (const site of throwSites(file)) {
        const details = FILLED_FROM[site.code as ErrorCode];
        if (!details) continue;
        checked++;
        if (/\bhint:/.test(site.text) || CANNOT_FILL[`${file.slice(ROOT.length + 1)}:${site.code}`]) continue;
        // Only what fills the hint is required; "owned" and "version" are there for the message's sake.
        const needed = Object.keys(details).filter((k) => !['owned', 'version', 'status'].includes(k));
        const absent = needed.filter((k) => !new RegExp(`[{,]\\s*${k}\\s*[:,}]`).test(site.text));
        if (absent.length) missing.push(`${file.slice(ROOT.length + 1)}:${site.line} ${site.code} lacks ${absent}`);
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it('the hints that the server writes itself hold no placeholder either', () => {
    const found: string[] = [];
    for (const file of sources([
      'packages/server',
      'providers/postgres',
      'providers/redis',
      'providers/runtime-local',
    ])) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/\bhint:\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g)) {
        if (hintPlaceholders(m[2]!).length) found.push(`${file.slice(ROOT.length + 1)}: ${m[2]}`);
      }
    }
    expect(found).toEqual([]);
  });
});

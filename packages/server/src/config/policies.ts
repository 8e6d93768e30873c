import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';
import { IdpError } from '@idp/contracts';
import { loadDefaultPolicySources, type PolicySource } from '@idp/core';
import type { LoadedConfig } from './load.ts';

/** The shipped policies (unless replaced) plus every .cedar file under the config's paths. */
export function policySourcesFor(loaded: LoadedConfig): { schema: PolicySource; policies: PolicySource[] } {
  const defaults = loadDefaultPolicySources();
  const extra: PolicySource[] = [];
  for (const p of loaded.config.policies.paths) {
    const abs = resolve(loaded.baseDir, p);
    let files: string[];
    try {
      files = statSync(abs).isDirectory()
        ? readdirSync(abs)
            .filter((f) => extname(f) === '.cedar')
            .sort()
            .map((f) => join(abs, f))
        : [abs];
    } catch {
      throw new IdpError('CONFIG_INVALID', `${loaded.path}: field policies.paths: ${abs} does not exist`, {
        field: 'policies.paths',
        file: loaded.path,
      });
    }
    for (const f of files) extra.push({ path: relative(process.cwd(), f) || f, text: readFileSync(f, 'utf8') });
  }
  return {
    schema: defaults.schema,
    policies: loaded.config.policies.replaceDefaults ? extra : [...defaults.policies, ...extra],
  };
}

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IdpError } from '@idp/contracts';
import type { PolicySource } from './policy-types.ts';

/** The repository's `policies/` folder: the schema and the default policies that ship with idp. */
export const DEFAULT_POLICY_DIR = fileURLToPath(new URL('../../../../policies/', import.meta.url));

export const SCHEMA_FILE = 'schema.cedarschema';

/** Reads `<dir>/schema.cedarschema` and every `<dir>/*.cedar`, in name order. */
export function loadDefaultPolicySources(dir: string = DEFAULT_POLICY_DIR): {
  schema: PolicySource;
  policies: PolicySource[];
} {
  const schemaPath = join(dir, SCHEMA_FILE);
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((name) => name.endsWith('.cedar'))
      .sort();
  } catch (err) {
    throw unreadable(dir, err);
  }
  return {
    schema: { path: schemaPath, text: read(schemaPath) },
    policies: names.map((name) => {
      const path = join(dir, name);
      return { path, text: read(path) };
    }),
  };
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw unreadable(path, err);
  }
}

function unreadable(path: string, err: unknown): IdpError {
  const reason = err instanceof Error ? err.message : String(err);
  return new IdpError('POLICY_INVALID', `Cannot read the Cedar policies at ${path}: ${reason}`, { file: path });
}

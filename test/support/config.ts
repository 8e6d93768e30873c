import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { ACME_CONFIG } from './server.ts';

/**
 * A copy of ACME_CONFIG with `catalog.fetch.allowHosts` set, written next to it (so its relative
 * catalog locations still resolve); returns its path for startTestServer / `--config`.
 */
export function acmeConfigAllowing(name: string, allowHosts: string[]): string {
  return acmeConfigWith(name, ['catalog', 'fetch', 'allowHosts'], allowHosts);
}

/** A copy of ACME_CONFIG with the setting at `at` set to `value`, written next to it; returns its path. */
export function acmeConfigWith(name: string, at: string[], value: unknown): string {
  const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
  doc.setIn(at, value);
  const path = join(dirname(ACME_CONFIG), `idp.${name}.config.yaml`);
  writeFileSync(path, doc.toString());
  return path;
}

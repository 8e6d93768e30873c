import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openStore, type Store } from '../../packages/server/src/store/index.ts';

/**
 * A fresh, migrated SQLite store in a temporary data dir for the unit tests of one describe
 * block: opened before them, closed and removed after. Read `.store` inside the tests.
 */
export function tempSqliteStore(prefix: string): { readonly store: Store; readonly dataDir: string } {
  let store: Store | undefined;
  let dataDir = '';
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), `idp-${prefix}-`));
    store = await openStore({ dataDir });
  });
  afterAll(async () => {
    await store?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    get store() {
      if (!store) throw new Error('tempSqliteStore: read .store inside a test or hook');
      return store;
    },
    get dataDir() {
      return dataDir;
    },
  };
}

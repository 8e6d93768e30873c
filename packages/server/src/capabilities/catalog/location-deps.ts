// What the location operations share: the catalog's deps plus its tables, queries, log, ids and whether it stopped.
import type { CatalogDeps } from './deps.ts';
import type { CatalogQueries } from './query.ts';
import type { CatalogStore } from './store.ts';

export interface CatalogLocationsDeps extends CatalogDeps {
  /** The catalog's tables, shared with the views. */
  tables: CatalogStore;
  queries: CatalogQueries;
  log: (line: string) => void;
  uuid: () => string;
  /** True once the service stops: the timer's refresh of every location ends early. */
  stopped: () => boolean;
}

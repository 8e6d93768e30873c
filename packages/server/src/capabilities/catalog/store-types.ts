// The catalog tables' shared types: a location row, what a write changed, the in-transaction hook, and what writes need.
import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../../clock.ts';
import type { Database, Dialect } from '../../store/index.ts';
import type { ReadIssue } from './read.ts';

export type LocationRow = Database['catalog_locations'];
export type EntityRow = Database['catalog_entities'];

export interface RefreshCounts {
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
  errors: number;
  /** Accepted but worth fixing: stored with the errors as severity 'warning'. */
  warnings: ReadIssue[];
  /** Whether a User or Group entity was written or removed: the directory must be rebuilt. */
  identityChanged: boolean;
}

/** A location's counts as the API shows them. */
export interface LocationStats {
  entities: number;
  errors: number;
  warnings: number;
}

/** Hook run inside the write transaction, so an audit record commits with the change it describes. */
export type InTransaction = (trx: Transaction<Database>, counts: RefreshCounts) => Promise<void>;

/** What the catalog's writes run with. */
export interface StoreContext {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: Clock;
  newUid: () => string;
}

/** The kinds whose writes change the identity directory. */
export const IDENTITY_KINDS = new Set(['user', 'group']);

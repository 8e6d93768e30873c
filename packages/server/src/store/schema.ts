import type { Generated } from 'kysely';

/**
 * Times are ISO-8601 UTC strings with milliseconds in both dialects: they sort as text, read the
 * same from SQLite and PostgreSQL, and need no driver-specific parsing.
 */
export interface ApiTokensTable {
  id: string;
  user_ref: string;
  token_hash: string;
  description: string | null;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  last_used_at: string | null;
}

export interface AuditLogTable {
  seq: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  decision: string;
  policy_ids: string;
  request_id: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

/** One row (id = 1): the last record of the chain, so truncating the log is detectable too. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface MetaTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface CatalogLocationsTable {
  id: string;
  type: string;
  target: string;
  /** 'config' (idp.config.yaml) or 'api' (registered by a user). */
  origin: string;
  created_at: string;
  created_by: string;
  refreshed_at: string | null;
  /** 'ok' | 'error' | 'pending' */
  status: string;
  last_error: string | null;
}

export interface CatalogEntitiesTable {
  uid: string;
  /** Lower-case `kind:namespace/name`. */
  ref: string;
  /** Lower-case kind. */
  kind: string;
  namespace: string;
  name: string;
  location_id: string;
  /** The location ref (`type:target`) of the file the entity was read from. */
  source: string;
  /** The Location entity through which it was found; null when read from the registered location itself. */
  parent_ref: string | null;
  /** Hash of the entity as read and validated, before relations: detects source changes. */
  content_hash: string;
  etag: string;
  entity: string;
  updated_at: string;
}

export interface CatalogSearchTable {
  entity_uid: string;
  key: string;
  value: string | null;
  original_value: string | null;
}

export interface CatalogRelationsTable {
  originating_uid: string;
  source_ref: string;
  type: string;
  target_ref: string;
}

export interface CatalogErrorsTable {
  id: string;
  location_id: string;
  seq: number;
  file: string | null;
  line: number | null;
  entity_ref: string | null;
  message: string;
  at: string;
}

export interface Database {
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  idp_meta: MetaTable;
  catalog_locations: CatalogLocationsTable;
  catalog_entities: CatalogEntitiesTable;
  catalog_search: CatalogSearchTable;
  catalog_relations: CatalogRelationsTable;
  catalog_errors: CatalogErrorsTable;
}

export type { Generated };

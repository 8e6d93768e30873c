// The catalog's tables (locations, entities, their search rows and relations, errors). Part of the
// schema (schema.ts holds the Database interface that names every table).
import type { CatalogLocation, RegisterLocationRequest } from '@idp/contracts';

export interface CatalogLocationsTable {
  id: string;
  type: NonNullable<RegisterLocationRequest['type']>;
  target: string;
  /** 'config' (idp.config.yaml) or 'api' (registered by a user). */
  origin: CatalogLocation['origin'];
  created_at: string;
  created_by: string;
  refreshed_at: string | null;
  status: CatalogLocation['status'];
  last_error: string | null;
  /** 1: its User and Group entities make the directory (config, or marked by a platform admin). */
  identity_source: number;
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
  /** 'error' (the entity or file was refused) or 'warning' (accepted; worth fixing). */
  severity: string;
}

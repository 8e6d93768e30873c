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

export interface Database {
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  idp_meta: MetaTable;
}

export type { Generated };

import type { PostgresProvider } from '@idp/provider-postgres';
import type { RedisProvider } from '@idp/provider-redis';
import type { Database } from '../../store/index.ts';

export type EnvRow = Database['environments'];
export type StepRow = Database['environment_steps'];

export interface BaseEnvironmentConfig {
  tier: 'production' | 'staging' | 'development';
  owner?: string;
  database?: string;
  redisPrefix?: string;
  seed?: { sql?: string; redis?: string; secrets?: string };
}

export interface EnvironmentSettings {
  defaultTtl: string;
  reapInterval: string;
  notifyBefore: string;
  snapshotRefresh: string;
  base: Record<string, BaseEnvironmentConfig>;
  /** The config file's folder: seed paths are relative to it. */
  baseDir: string;
  dataDir: string;
}

export interface EnvironmentInfra {
  postgres: PostgresProvider | null;
  redis: RedisProvider | null;
  /** How each was configured, for messages: "postgres.adminUrl", "IDP_REDIS_URL", … */
  postgresSource: string;
  redisSource: string;
}

/** Something running in a namespace (the local runtime, later): stopped before the namespace is removed. */
export interface NamespaceHook {
  /** After the namespace's folder is made (e.g. its OS user and scratch space). */
  onCreate?(namespace: string): Promise<void>;
  onDelete(namespace: string): Promise<void>;
}

/** The actor of everything the steps do on their own (not on a request). */
export const SYSTEM = 'system:provisioner';

// What the access operations share: their settings (access.* in the config) and the services they use.
import type { Kysely } from 'kysely';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock, IdSource } from '../../clock.ts';
import type { Directory } from '../../identity/index.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import type { SecretResources } from '../secrets/resources.ts';
import type { WebhookNotifier } from './notifier.ts';

export interface AccessSettings {
  pendingTtl: string;
  defaultDuration: string;
  sweepInterval: string;
}

export interface AccessDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  gate: PolicyGate;
  directory: Directory;
  clock: Clock;
  ids: IdSource;
  resources: SecretResources;
  notifier: WebhookNotifier;
  settings: AccessSettings;
  log?: (line: string) => void;
}

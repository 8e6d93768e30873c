// What the environment operations share: the services they use and the parts the service builds from them.
import type { Kysely } from 'kysely';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock, IdSource } from '../../clock.ts';
import type { Directory } from '../../identity/index.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import type { WebhookNotifier } from '../access/notifier.ts';
import type { AccessService } from '../access/service.ts';
import type { SecretCipher } from '../secrets/crypto.ts';
import type { SecretsService } from '../secrets/service.ts';
import type { EnvironmentCredentials } from './credentials.ts';
import type { EnvironmentStore } from './store.ts';
import type { EnvironmentInfra, EnvironmentSettings } from './types.ts';
import type { StepWorkflow } from './workflow.ts';

export interface EnvironmentDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  gate: PolicyGate;
  directory: Directory;
  clock: Clock;
  ids: IdSource;
  cipher: SecretCipher;
  secrets: SecretsService;
  access: AccessService;
  notifier: WebhookNotifier;
  infra: EnvironmentInfra;
  settings: EnvironmentSettings;
  log: (line: string) => void;
}

/** The deps plus what EnvironmentService builds from them, passed to each operation. */
export interface EnvironmentParts {
  deps: EnvironmentDeps;
  store: EnvironmentStore;
  credentials: EnvironmentCredentials;
  workflow: StepWorkflow;
  /** Live environments' tiers, for the secret store (sync lookups). */
  tiers: Map<string, string>;
}

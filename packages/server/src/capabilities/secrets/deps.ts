import type { Kysely } from 'kysely';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock, IdSource } from '../../clock.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Database, Dialect } from '../../store/index.ts';
import type { SecretCipher } from './crypto.ts';
import type { GrantLookup } from './grants.ts';
import type { SecretResources } from './resources.ts';

/** What the secrets capability is built from; each part of it takes the slice it needs. */
export interface SecretsDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  audit: AuditLog;
  gate: PolicyGate;
  clock: Clock;
  ids: IdSource;
  cipher: SecretCipher;
  resources: SecretResources;
  grants: GrantLookup;
}

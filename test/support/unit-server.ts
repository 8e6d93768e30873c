// The server's services wired for its unit tests on a real store (tempSqliteStore): a directory
// of hand-made teams, the audit log and the policy gate with the shipped Cedar policies, and the
// access and secrets services on top, as the server wires them at start-up.
import { PolicyEngine, loadDefaultPolicySources } from '@idp/core';
import { AuditLog } from '../../packages/server/src/audit/index.ts';
import type { Clock, IdSource } from '../../packages/server/src/clock.ts';
import { Directory } from '../../packages/server/src/identity/index.ts';
import { PolicyGate } from '../../packages/server/src/policy/gate.ts';
import { AccessService, WebhookNotifier } from '../../packages/server/src/capabilities/access/index.ts';
import { SecretCipher, resolveMasterKey } from '../../packages/server/src/capabilities/secrets/crypto.ts';
import type { SecretResources } from '../../packages/server/src/capabilities/secrets/resources.ts';
import { SecretsService } from '../../packages/server/src/capabilities/secrets/service.ts';
import type { Store } from '../../packages/server/src/store/index.ts';

/** A team: its members (user refs) and, for a child team, its parent team's name. */
export type TeamSpec = readonly string[] | { readonly parent: string | null; readonly members: readonly string[] };

/**
 * A directory as the catalog makes it, by hand: `group:default/<team>` for each team (in the
 * order given) with its members, and each member a user of that team (`<name>@company.com`).
 */
export function testDirectory(adminGroup: string, teams: Readonly<Record<string, TeamSpec>> = {}): Directory {
  const dir = new Directory(adminGroup);
  for (const [name, spec] of Object.entries(teams)) {
    const { parent, members } = 'members' in spec ? spec : { parent: null, members: spec };
    const group = `group:default/${name}`;
    dir.groups.set(group, {
      ref: group,
      name,
      displayName: null,
      email: null,
      parent: parent && `group:default/${parent}`,
      children: [],
      members: [...members],
    });
    for (const ref of members) {
      const known = dir.users.get(ref);
      if (known) {
        known.memberOf.push(group);
        continue;
      }
      const user = ref.split('/')[1]!;
      dir.users.set(ref, { ref, name: user, email: `${user}@company.com`, displayName: null, memberOf: [group] });
    }
  }
  return dir;
}

/** The audit log on `store` and the policy gate deciding with the shipped policies over `directory`. */
export function policyGate(
  store: Pick<Store, 'db' | 'dialect'>,
  directory: Directory,
  clock: Clock,
): { audit: AuditLog; gate: PolicyGate } {
  const audit = new AuditLog(store.db, clock, store.dialect);
  return { audit, gate: new PolicyGate(PolicyEngine.load(loadDefaultPolicySources()), directory, audit) };
}

/**
 * The access service (requests and grants, notifying no one) and the secrets service sealing with
 * the data dir's master key. Stop `access` in afterAll: it sweeps expired requests.
 */
export function secretsServices(deps: {
  store: Pick<Store, 'db' | 'dialect'>;
  dataDir: string;
  audit: AuditLog;
  gate: PolicyGate;
  directory: Directory;
  clock: Clock;
  ids: IdSource;
  resources: SecretResources;
}): { access: AccessService; secrets: SecretsService; cipher: SecretCipher } {
  const { store, audit, gate, directory, clock, ids, resources } = deps;
  const cipher = new SecretCipher(resolveMasterKey(deps.dataDir, undefined));
  const access = new AccessService({
    db: store.db,
    audit,
    gate,
    directory,
    clock,
    ids,
    resources,
    notifier: new WebhookNotifier(undefined, () => {}),
    settings: { pendingTtl: '24h', defaultDuration: '1h', sweepInterval: '30s' },
  });
  const secrets = new SecretsService({
    db: store.db,
    dialect: store.dialect,
    audit,
    gate,
    clock,
    ids,
    cipher,
    resources,
    grants: access,
  });
  return { access, secrets, cipher };
}

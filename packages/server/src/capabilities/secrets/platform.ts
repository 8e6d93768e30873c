import type { Selectable, Transaction } from 'kysely';
import type { Database } from '../../store/index.ts';
import type { SecretsTable } from '../../store/schema.ts';
import type { SecretsDeps } from './deps.ts';
import { checkScope, parseSecretPath } from './paths.ts';
import { checkValue, type SecretStore } from './store.ts';

type SecretTrx = Transaction<Database>;
type SecretRow = Selectable<SecretsTable>;

/**
 * Secrets as the platform itself uses them, with no caller and so no policy decision: what a
 * workload gets, copying into a new environment and purging a deleted one, and seed data.
 * The other capabilities call these after their own decision; each is audited under the actor
 * they pass.
 */
export class PlatformSecrets {
  constructor(
    private readonly deps: Pick<SecretsDeps, 'db' | 'audit' | 'ids'>,
    private readonly store: SecretStore,
  ) {}

  /** A service's secrets in an environment as KEY → value, for the processes the platform runs (never returned by the API). */
  async valuesFor(env: string, service: string): Promise<Record<string, string>> {
    checkScope(env, service);
    const rows = await this.deps.db
      .selectFrom('secrets')
      .selectAll()
      .where('env', '=', env)
      .where('service', '=', service)
      .where('deleted_at', 'is', null)
      .execute();
    const out: Record<string, string> = {};
    for (const row of rows) {
      const v = await this.store.version(this.deps.db, row.id, row.current_version);
      if (v)
        out[row.key] = await this.store.open('system:runtime', 'runtime', `${env}/${service}/${row.key}`, v, {
          runtime: true,
        });
    }
    return out;
  }

  /**
   * Copies every live secret of `from` to the same service/KEY under `to` (the environments
   * capability calls it after its own env:create decision; each value is re-encrypted, because
   * the path is part of the authenticated data). One transaction, so a crash copies all or
   * nothing; secrets already at the target are left as they are, so a re-run converges.
   */
  async copyEnvironment(from: string, to: string, actor: string, requestId: string): Promise<number> {
    return this.fillEnvironment(from, to, actor, requestId, 'secret:copy', 'copied', async (trx, row) => {
      const v = await this.store.version(trx, row.id, row.current_version);
      if (!v) return null;
      return this.store.open(actor, requestId, `${from}/${row.service}/${row.key}`, v, { copyTo: to });
    });
  }

  /**
   * Gives `to` every live secret NAME of `from` (same service/KEY), each with a placeholder value:
   * `values[service/KEY]`, else `values[KEY]`, else `fallback`. The base's values are never read
   * (no version of `from` is opened). One transaction; names already at the target are left as
   * they are, so a re-run converges.
   */
  async placeholderEnvironment(
    from: string,
    to: string,
    values: Record<string, string>,
    fallback: string,
    actor: string,
    requestId: string,
  ): Promise<number> {
    checkValue(fallback);
    return this.fillEnvironment(from, to, actor, requestId, 'secret:placeholders', 'placeholders', (_trx, row) => {
      const name = `${row.service}/${row.key}`;
      const own = Object.hasOwn(values, name) ? values[name] : Object.hasOwn(values, row.key) ? values[row.key] : '';
      return Promise.resolve(own || fallback);
    });
  }

  /**
   * Every live secret name of `from` that `to` lacks, made at `to` with the value `valueOf` gives
   * (null: left out); one transaction, its scopes bumped and one audit entry `action`.
   */
  private fillEnvironment(
    from: string,
    to: string,
    actor: string,
    requestId: string,
    action: 'secret:copy' | 'secret:placeholders',
    counted: 'copied' | 'placeholders',
    valueOf: (trx: SecretTrx, row: SecretRow) => Promise<string | null>,
  ): Promise<number> {
    checkScope(from, 'x');
    checkScope(to, 'x');
    const now = this.store.now();
    return this.store.write(async (trx) => {
      const rows = await trx
        .selectFrom('secrets')
        .selectAll()
        .where('env', '=', from)
        .where('deleted_at', 'is', null)
        .orderBy('service')
        .orderBy('key')
        .execute();
      const existing = new Set(
        (await trx.selectFrom('secrets').select(['service', 'key']).where('env', '=', to).execute()).map(
          (r) => `${r.service}/${r.key}`,
        ),
      );
      let made = 0;
      const services = new Set<string>();
      for (const row of rows) {
        if (existing.has(`${row.service}/${row.key}`)) continue;
        const value = await valueOf(trx, row);
        if (value === null) continue;
        const copy = await this.store.insertSecret(trx, to, row.service, row.key, actor, now);
        await this.store.insertVersion(trx, copy.id, `${to}/${row.service}/${row.key}`, 1, value, actor, now);
        services.add(row.service);
        made++;
      }
      for (const service of services) await this.store.bumpScope(trx, to, service, now);
      await this.deps.audit.append(
        {
          actor,
          action,
          target: `secret:${to}/*/*`,
          decision: 'allow',
          requestId,
          details: { from, to, [counted]: made },
        },
        trx,
      );
      return made;
    });
  }

  /** Removes every secret of an environment that is being deleted, versions included, and ends its workload tokens. */
  async purgeEnvironment(env: string, actor: string, requestId: string): Promise<number> {
    checkScope(env, 'x');
    const now = this.store.now();
    return this.store.write(async (trx) => {
      const ids = (await trx.selectFrom('secrets').select('id').where('env', '=', env).execute()).map((r) => r.id);
      if (ids.length) {
        await trx.deleteFrom('secret_versions').where('secret_id', 'in', ids).execute();
        await trx.deleteFrom('secrets').where('id', 'in', ids).execute();
      }
      await trx.deleteFrom('secret_scopes').where('env', '=', env).execute();
      await trx
        .updateTable('workload_tokens')
        .set({ revoked_at: now })
        .where('env', '=', env)
        .where('revoked_at', 'is', null)
        .execute();
      await this.deps.audit.append(
        {
          actor,
          action: 'secret:purge',
          target: `secret:${env}/*/*`,
          decision: 'allow',
          requestId,
          details: { env, deleted: ids.length },
        },
        trx,
      );
      return ids.length;
    });
  }

  /** How many live secrets an environment has. */
  async countEnvironment(env: string): Promise<number> {
    const r = await this.deps.db
      .selectFrom('secrets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('env', '=', env)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Sets a secret as the platform itself (base environment seed data), audited under `actor`; a live secret is left as it is. */
  async setAsSystem(actor: string, pathText: string, value: string): Promise<void> {
    const p = parseSecretPath(pathText);
    checkValue(value);
    const now = this.store.now();
    await this.store.write(async (trx) => {
      const existing = await this.store.lock(trx, p);
      if (existing && !existing.deleted_at) return;
      const version = existing ? existing.current_version + 1 : 1;
      const id = existing ? existing.id : (await this.store.insertSecret(trx, p.env, p.service, p.key, actor, now)).id;
      if (existing) await this.store.setCurrent(trx, id, version, actor, now);
      await this.store.insertVersion(trx, id, p.path, version, value, actor, now);
      await this.store.bumpScope(trx, p.env, p.service, now);
      await this.deps.audit.append(
        {
          actor,
          action: 'secret:write',
          target: `secret:${p.path}`,
          decision: 'allow',
          requestId: 'system',
          details: { version, seed: true },
        },
        trx,
      );
    });
  }
}

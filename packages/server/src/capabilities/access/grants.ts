import type { Kysely } from 'kysely';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import { keyCovers } from '../secrets/paths.ts';
import type { GrantInfo, GrantLookup, GrantMatch } from '../secrets/grants.ts';

/**
 * Grant matching: which approved request covers a principal's read of one KEY (or the whole
 * service, `*`), by time as of now. What secrets asks before every read and token.
 */
export class AccessGrants implements GrantLookup {
  constructor(private readonly deps: { db: Kysely<Database>; clock: Clock }) {}

  async grantFor(principalRef: string, env: string, service: string, key: string): Promise<GrantMatch> {
    const rows = await this.deps.db
      .selectFrom('access_requests')
      .selectAll()
      .where('requester', '=', principalRef)
      .where('env', '=', env)
      .where('service', '=', service)
      .where('status', 'in', ['approved', 'expired'])
      .where('expires_at', 'is not', null)
      .orderBy('expires_at', 'desc')
      .limit(200)
      .execute();
    const now = this.now();
    let active: GrantInfo | null = null;
    let ended: GrantInfo | null = null;
    for (const r of rows) {
      if (!keyCovers(r.key_pattern, key)) continue;
      const info = { id: r.id, expiresAt: r.expires_at!, reason: r.reason };
      if (r.status === 'approved' && r.expires_at! > now) {
        // The one that lasts longest: a token bound to it lives as long as it can.
        if (!active) active = info;
      } else if (!ended) ended = info;
    }
    return { active, ended: active ? null : ended };
  }

  async isActive(grantId: string): Promise<boolean> {
    const r = await this.deps.db
      .selectFrom('access_requests')
      .select(['status', 'expires_at'])
      .where('id', '=', grantId)
      .executeTakeFirst();
    return !!r && r.status === 'approved' && !!r.expires_at && r.expires_at > this.now();
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}

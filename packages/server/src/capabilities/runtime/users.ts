import type { Kysely } from 'kysely';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';

/** The first uid handed to a workload user; far above the system's and people's accounts. */
export const FIRST_UID = 200_000;

export type RuntimeUserKind = Database['runtime_users']['kind'];

/**
 * The OS users builds and replicas run as, recorded in the state store: one per namespace (its
 * replicas) and one per team (its builds). Uids only grow, so a removed namespace's uid is never
 * handed to a new one. Two control planes on one PostgreSQL store agree through the unique keys:
 * the loser of a race reads the winner's row.
 */
export class RuntimeUsers {
  private readonly cache = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  async uidOf(kind: RuntimeUserKind, name: string): Promise<number> {
    const key = `${kind}/${name}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    for (let attempt = 0; ; attempt++) {
      const live = await this.db
        .selectFrom('runtime_users')
        .select('uid')
        .where('kind', '=', kind)
        .where('name', '=', name)
        .where('removed_at', 'is', null)
        .executeTakeFirst();
      if (live) {
        this.cache.set(key, Number(live.uid));
        return Number(live.uid);
      }
      const top = await this.db
        .selectFrom('runtime_users')
        .select((eb) => eb.fn.max('uid').as('uid'))
        .executeTakeFirst();
      const uid = Math.max(FIRST_UID, Number(top?.uid ?? FIRST_UID - 1) + 1);
      try {
        await this.db
          .insertInto('runtime_users')
          .values({ uid, kind, name, created_at: this.clock.now().toISOString(), removed_at: null })
          .execute();
        this.cache.set(key, uid);
        return uid;
      } catch (err) {
        if (attempt >= 20) throw err;
        // Someone else took this uid or made this user meanwhile: look again.
      }
    }
  }

  /** Marks the live user removed (its uid stays taken); the uid it had, if any. */
  async remove(kind: RuntimeUserKind, name: string): Promise<number | null> {
    this.cache.delete(`${kind}/${name}`);
    const live = await this.db
      .selectFrom('runtime_users')
      .select('uid')
      .where('kind', '=', kind)
      .where('name', '=', name)
      .where('removed_at', 'is', null)
      .executeTakeFirst();
    if (!live) return null;
    await this.db
      .updateTable('runtime_users')
      .set({ removed_at: this.clock.now().toISOString() })
      .where('uid', '=', live.uid)
      .execute();
    return Number(live.uid);
  }
}

import type { Kysely } from 'kysely';
import type { Database } from '../../store/index.ts';
import type { EnvRow, StepRow } from './types.ts';

/** The environments' rows and their steps' rows: the reads the service and the workflow share. */
export class EnvironmentStore {
  constructor(readonly db: Kysely<Database>) {}

  /** The environment of this name that is not deleted, if any (at most one: names are unique among live ones). */
  async live(name: string): Promise<EnvRow | undefined> {
    return this.db
      .selectFrom('environments')
      .selectAll()
      .where('name', '=', name)
      .where('status', '<>', 'deleted')
      .executeTakeFirst();
  }

  /** The live environment of this name, else the most recently deleted one. */
  async latest(name: string): Promise<EnvRow | undefined> {
    return (
      (await this.live(name)) ??
      this.db
        .selectFrom('environments')
        .selectAll()
        .where('name', '=', name)
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst()
    );
  }

  async byId(id: string): Promise<EnvRow | undefined> {
    return this.db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async stepsOf(id: string): Promise<StepRow[]> {
    return this.db.selectFrom('environment_steps').selectAll().where('env_id', '=', id).orderBy('position').execute();
  }

  async stepsFor(ids: string[]): Promise<Map<string, StepRow[]>> {
    const out = new Map<string, StepRow[]>();
    if (!ids.length) return out;
    const rows = await this.db
      .selectFrom('environment_steps')
      .selectAll()
      .where('env_id', 'in', ids)
      .orderBy('position')
      .execute();
    for (const r of rows) out.set(r.env_id, [...(out.get(r.env_id) ?? []), r]);
    return out;
  }
}

export function pendingStep(envId: string, position: number, name: string): StepRow {
  return {
    env_id: envId,
    position,
    name,
    status: 'pending',
    started_at: null,
    finished_at: null,
    duration_ms: null,
    attempts: 0,
    detail: null,
    error: null,
  };
}

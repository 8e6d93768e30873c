import { stringifyEntityRef, type Entity } from '@backstage/catalog-model';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import { BOOTSTRAP_ADMIN_REF, Directory } from '../../identity/index.ts';
import type { Database } from '../../store/index.ts';
import type { ReadResult } from './read.ts';
import { chunk } from './util.ts';

/**
 * Identity has a trust root. Users, Groups and memberships make the directory, and the directory
 * makes platform admins and every team's permissions; so they come only from identity sources:
 * the config's locations (the admin wrote them) and locations a platform admin registered as one.
 * A User or Group read from any other location (a URL a developer registered, or a Location
 * nested in one) is refused with a catalog error and never stored; its other entities load.
 * Only User and Group specs declare membership relations (memberOf, members, parent, children),
 * so refusing those entities closes every way an untrusted document could make someone a member.
 */
export const IDENTITY_UNTRUSTED = 'CATALOG_IDENTITY_UNTRUSTED';

const IDENTITY_KINDS = new Set(['user', 'group']);
const MEMBERSHIP_RELATIONS = new Set(['memberOf', 'hasMember', 'childOf', 'parentOf']);
const ADMINS_KEY = 'identity_admins';
/** Who revokes the tokens of a user that left the directory. */
export const IDENTITY_ACTOR = 'system:identity';

export interface LocationTrust {
  type: string;
  target: string;
  identity_source: number;
}

/** The read without the User and Group entities of a location that is not an identity source. */
export function refuseUntrustedIdentity(read: ReadResult, location: LocationTrust): ReadResult {
  if (location.identity_source || read.unreachable) return read;
  const entities = read.entities.filter((e) => !IDENTITY_KINDS.has(e.kind));
  if (entities.length === read.entities.length) return read;
  const issues = [...read.issues];
  for (const e of read.entities) {
    if (!IDENTITY_KINDS.has(e.kind)) continue;
    issues.push({
      file: e.source.replace(/^(file|url):/, ''),
      line: null,
      entityRef: e.ref,
      message:
        `${IDENTITY_UNTRUSTED}: ${e.entity.kind} ${e.ref} refused: Users, Groups and memberships come only from identity sources ` +
        `(catalog.locations in the config, or a location a platform admin registered with --identity-source); ${location.type}:${location.target} is not one`,
    });
  }
  return { ...read, entities, issues };
}

/**
 * The directory from the User and Group entities of identity sources only. A membership relation
 * is kept only when both ends are trusted: relations come from the spec of one of their two ends,
 * so this also drops any a non-identity entity stored before this rule could have caused.
 */
export async function loadTrustedDirectory(db: Kysely<Database>, adminGroup: string): Promise<Directory> {
  const rows = await db
    .selectFrom('catalog_entities as e')
    .innerJoin('catalog_locations as l', 'l.id', 'e.location_id')
    .select('e.entity')
    .where('e.kind', 'in', [...IDENTITY_KINDS])
    .where('l.identity_source', '=', 1)
    .execute();
  const entities = rows.map((r) => JSON.parse(r.entity) as Entity);
  const trusted = new Set(entities.map((e) => stringifyEntityRef(e).toLowerCase()));
  const filtered = entities.map((e) => ({
    ...e,
    relations: (e.relations ?? []).filter(
      (r) => !MEMBERSHIP_RELATIONS.has(r.type) || trusted.has(r.targetRef.toLowerCase()),
    ),
  }));
  return Directory.fromEntities(filtered, adminGroup);
}

/** The users the directory makes platform admins, sorted. */
export function adminsOf(dir: Directory): string[] {
  return [...dir.users.keys()].filter((ref) => dir.isAdmin(ref)).sort();
}

export interface IdentityChanges {
  /** The first directory this store saw: its admins are recorded (and audited) as added. */
  initial: boolean;
  admins: { added: string[]; removed: string[] };
  /** Users no longer in the directory whose tokens were revoked now. */
  revoked: { user: string; apiTokens: string[]; workloadTokens: string[] }[];
}

/**
 * After every directory rebuild: audits a change of who is a platform admin (against the set
 * last recorded, so a change across a restart counts too) and revokes, for good, the API tokens
 * and workload tokens of every user no longer in the directory. A user registered again later
 * starts with no tokens: revoked rows are never revived.
 */
export async function reconcileIdentity(
  db: Kysely<Database>,
  audit: AuditLog,
  clock: Clock,
  dir: Directory,
  actor: string,
): Promise<IdentityChanges> {
  const admins = adminsOf(dir);
  const prevRow = await db.selectFrom('idp_meta').select('value').where('key', '=', ADMINS_KEY).executeTakeFirst();
  const prev = prevRow ? (JSON.parse(prevRow.value) as string[]) : [];
  const changes: IdentityChanges = {
    initial: !prevRow,
    admins: { added: admins.filter((a) => !prev.includes(a)), removed: prev.filter((a) => !admins.includes(a)) },
    revoked: [],
  };

  // A directory with no users at all is an accident (an emptied org file, an identity source
  // unregistered by mistake), not everyone leaving: their tokens are refused meanwhile
  // (TOKEN_INVALID, the user is not in the catalog) but not revoked for good.
  const gone = (ref: string) =>
    dir.users.size > 0 && ref !== BOOTSTRAP_ADMIN_REF && ref.startsWith('user:') && !dir.users.has(ref);
  const apiHolders = await db
    .selectFrom('api_tokens')
    .select(['id', 'user_ref'])
    .where('revoked_at', 'is', null)
    .execute();
  const workloadHolders = await db
    .selectFrom('workload_tokens')
    .select(['id', 'created_by'])
    .where('revoked_at', 'is', null)
    .execute();
  const byUser = new Map<string, { user: string; apiTokens: string[]; workloadTokens: string[] }>();
  const entry = (user: string) =>
    byUser.get(user) ?? byUser.set(user, { user, apiTokens: [], workloadTokens: [] }).get(user)!;
  for (const t of apiHolders) if (gone(t.user_ref)) entry(t.user_ref).apiTokens.push(t.id);
  for (const t of workloadHolders) if (gone(t.created_by)) entry(t.created_by).workloadTokens.push(t.id);
  changes.revoked = [...byUser.values()].sort((a, b) => (a.user < b.user ? -1 : 1));

  const adminsChanged = changes.admins.added.length > 0 || changes.admins.removed.length > 0 || !prevRow;
  if (!adminsChanged && changes.revoked.length === 0) return changes;
  const now = clock.now().toISOString();
  await db.transaction().execute(async (trx) => {
    if (adminsChanged) {
      await trx
        .insertInto('idp_meta')
        .values({ key: ADMINS_KEY, value: JSON.stringify(admins), updated_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(admins), updated_at: now }))
        .execute();
      if (changes.admins.added.length || changes.admins.removed.length) {
        await audit.append(
          {
            actor,
            action: 'identity:admins-changed',
            target: `group:${dir.adminGroup}`,
            decision: 'allow',
            details: { added: changes.admins.added, removed: changes.admins.removed, admins },
          },
          trx,
        );
      }
    }
    for (const r of changes.revoked) {
      for (const ids of chunk(r.apiTokens, 500)) {
        await trx
          .updateTable('api_tokens')
          .set({ revoked_at: now, revoked_by: IDENTITY_ACTOR })
          .where('id', 'in', ids)
          .where('revoked_at', 'is', null)
          .execute();
      }
      for (const ids of chunk(r.workloadTokens, 500)) {
        await trx
          .updateTable('workload_tokens')
          .set({ revoked_at: now, revoked_by: IDENTITY_ACTOR })
          .where('id', 'in', ids)
          .where('revoked_at', 'is', null)
          .execute();
      }
      await audit.append(
        {
          actor: IDENTITY_ACTOR,
          action: 'identity:user-removed',
          target: r.user,
          decision: 'allow',
          details: {
            reason: 'the user is no longer in any identity source',
            revokedTokens: r.apiTokens,
            revokedWorkloadTokens: r.workloadTokens,
          },
        },
        trx,
      );
    }
  });
  return changes;
}

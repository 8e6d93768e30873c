import { DEFAULT_NAMESPACE, parseEntityRef, stringifyEntityRef, type Entity } from '@backstage/catalog-model';
import { shortRef, type CedarEntity, type CedarUid } from '@idp/core';

export interface DirectoryUser {
  ref: string;
  name: string;
  email: string | null;
  displayName: string | null;
  /** Direct groups, as entity refs. */
  memberOf: string[];
}

export interface DirectoryGroup {
  ref: string;
  name: string;
  displayName: string | null;
  email: string | null;
  parent: string | null;
  children: string[];
  /** Direct members, as entity refs. */
  members: string[];
}

/** The bootstrap admin that IDP_ADMIN_TOKEN / <data-dir>/admin-token acts as. */
export const BOOTSTRAP_ADMIN_REF = 'user:default/idp-admin';

function relationTargets(entity: Entity, type: string): string[] {
  return [...new Set((entity.relations ?? []).filter((r) => r.type === type).map((r) => r.targetRef))].sort();
}

function profile(entity: Entity): { email: string | null; displayName: string | null } {
  const p = (entity.spec as { profile?: { email?: unknown; displayName?: unknown } } | undefined)?.profile;
  return {
    email: typeof p?.email === 'string' ? p.email : null,
    displayName: typeof p?.displayName === 'string' ? p.displayName : null,
  };
}

/**
 * Users and teams, built from the catalog's User and Group entities. Membership comes from the
 * stitched relations (memberOf/hasMember, childOf/parentOf), so it is read from both sides as
 * Backstage computes it, and a member of a group is also a member of its ancestors.
 *
 * The catalog rebuilds the directory after every ingestion that touches users or groups and
 * swaps the contents in place (replaceWith), so the policy gate, the token service and every
 * route that captured this object see the new teams at once.
 */
export class Directory {
  readonly users = new Map<string, DirectoryUser>();
  readonly groups = new Map<string, DirectoryGroup>();
  private readonly byEmail = new Map<string, string>();
  private groupEntitiesCache: CedarEntity[] | null = null;

  constructor(readonly adminGroup: string) {}

  /** From final catalog entities (with relations); entities of other kinds are ignored. */
  static fromEntities(entities: Iterable<Entity>, adminGroup: string): Directory {
    const dir = new Directory(adminGroup);
    for (const entity of entities) {
      const ref = stringifyEntityRef(entity);
      const { email, displayName } = profile(entity);
      if (entity.kind === 'User') {
        const lower = email?.toLowerCase() ?? null;
        dir.users.set(ref, {
          ref,
          name: entity.metadata.name,
          email: lower,
          displayName,
          memberOf: relationTargets(entity, 'memberOf'),
        });
        if (lower) dir.byEmail.set(lower, ref);
      } else if (entity.kind === 'Group') {
        dir.groups.set(ref, {
          ref,
          name: entity.metadata.name,
          displayName,
          email,
          parent: relationTargets(entity, 'childOf')[0] ?? null,
          children: relationTargets(entity, 'parentOf'),
          members: relationTargets(entity, 'hasMember'),
        });
      }
    }
    return dir;
  }

  /** Takes over another directory's users and groups; synchronous, so no request sees a mix. */
  replaceWith(next: Directory): void {
    this.users.clear();
    this.groups.clear();
    this.byEmail.clear();
    for (const [k, v] of next.users) this.users.set(k, v);
    for (const [k, v] of next.groups) this.groups.set(k, v);
    for (const [k, v] of next.byEmail) this.byEmail.set(k, v);
    this.groupEntitiesCache = null;
  }

  /** Accepts alice@company.com, user:alice@company.com, user:default/alice, default/alice or alice. */
  findUser(input: string): DirectoryUser | undefined {
    const text = input.trim();
    const withoutKind = text.replace(/^user:/i, '');
    if (withoutKind.includes('@') && !withoutKind.includes('/')) {
      const ref = this.byEmail.get(withoutKind.toLowerCase());
      return ref ? this.users.get(ref) : undefined;
    }
    try {
      const ref = stringifyEntityRef(
        parseEntityRef(text, { defaultKind: 'user', defaultNamespace: DEFAULT_NAMESPACE }),
      );
      return ref.startsWith('user:') ? this.users.get(ref) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The group refs a group's members count for: itself and every ancestor (cycles tolerated). */
  ancestorsOf(groupRef: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    for (let g: string | null | undefined = groupRef; g && !seen.has(g); g = this.groups.get(g)?.parent) {
      seen.add(g);
      out.push(g);
    }
    return out;
  }

  /** Direct groups and every ancestor, as short refs (`payments`), sorted. */
  teamsOf(userRef: string): string[] {
    if (userRef === BOOTSTRAP_ADMIN_REF) return [this.adminGroup];
    const out = new Set<string>();
    for (const g of this.users.get(userRef)?.memberOf ?? []) for (const a of this.ancestorsOf(g)) out.add(a);
    return [...out].map(shortRef).sort();
  }

  /** Every user of a group and of its descendant groups; direct: a member of the group itself. */
  membersOf(groupRef: string): { ref: string; direct: boolean }[] {
    const out = new Map<string, boolean>();
    const seen = new Set<string>();
    const walk = (g: string, direct: boolean) => {
      if (seen.has(g)) return;
      seen.add(g);
      const group = this.groups.get(g);
      for (const m of group?.members ?? []) out.set(m, (out.get(m) ?? false) || direct);
      for (const c of group?.children ?? []) walk(c, false);
    };
    walk(groupRef, true);
    return [...out].map(([ref, direct]) => ({ ref, direct })).sort((a, b) => (a.ref < b.ref ? -1 : 1));
  }

  isAdmin(userRef: string): boolean {
    return this.teamsOf(userRef).includes(this.adminGroup);
  }

  /** Every Group as a Cedar entity (parents = parent group); built once per directory. */
  groupEntities(): CedarEntity[] {
    if (!this.groupEntitiesCache) {
      this.groupEntitiesCache = [...this.groups.values()].map((g) => ({
        uid: { type: 'Group', id: shortRef(g.ref) },
        attrs: { name: g.name },
        parents: g.parent ? [{ type: 'Group', id: shortRef(g.parent) }] : [],
      }));
    }
    return this.groupEntitiesCache;
  }

  /** The Cedar entity of a user: direct groups as parents, plus Role::"admin" for admins. */
  userEntity(userRef: string): CedarEntity {
    const u = this.users.get(userRef);
    const parents: CedarUid[] = (u?.memberOf ?? [])
      .filter((g) => this.groups.has(g))
      .map((g) => ({ type: 'Group', id: shortRef(g) }));
    if (userRef === BOOTSTRAP_ADMIN_REF) parents.push({ type: 'Group', id: this.adminGroup });
    if (this.isAdmin(userRef)) parents.push({ type: 'Role', id: 'admin' });
    const attrs: Record<string, unknown> = { name: u?.name ?? shortRef(userRef) };
    if (u?.email) attrs.email = u.email;
    return { uid: userUid(userRef), attrs, parents };
  }
}

export function userUid(userRef: string): CedarUid {
  return { type: 'User', id: shortRef(userRef) };
}

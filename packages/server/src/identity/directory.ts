import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  DEFAULT_NAMESPACE,
  DefaultNamespaceEntityPolicy,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  groupEntityV1alpha1Validator,
  parseEntityRef,
  stringifyEntityRef,
  userEntityV1alpha1Validator,
  type Entity,
} from '@backstage/catalog-model';
import { IdpError } from '@idp/contracts';
import type { CedarEntity, CedarUid } from '@idp/core';

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
  members: string[];
}

export interface DirectoryWarning {
  location: string;
  entityRef?: string;
  message: string;
}

/** The bootstrap admin that IDP_ADMIN_TOKEN / <data-dir>/admin-token acts as. */
export const BOOTSTRAP_ADMIN_REF = 'user:default/idp-admin';

const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);

/** `user:default/alice` → `alice`; other namespaces keep theirs: `user:ops/alice` → `ops/alice`. */
export function shortRef(ref: string): string {
  const { namespace, name } = parseEntityRef(ref);
  return namespace === DEFAULT_NAMESPACE ? name : `${namespace}/${name}`;
}

/**
 * Users and teams, from Backstage User and Group entities. Membership is read from both sides
 * (User.spec.memberOf and Group.spec.members), as Backstage computes memberOf/hasMember, and a
 * member of a group is also a member of its ancestors.
 */
export class Directory {
  readonly users = new Map<string, DirectoryUser>();
  readonly groups = new Map<string, DirectoryGroup>();
  readonly warnings: DirectoryWarning[] = [];
  private readonly byEmail = new Map<string, string>();
  private groupEntitiesCache: CedarEntity[] | null = null;

  constructor(readonly adminGroup: string) {}

  static async load(locations: string[], baseDir: string, adminGroup: string): Promise<Directory> {
    const dir = new Directory(adminGroup);
    const entities: { entity: Entity; location: string }[] = [];
    for (const loc of locations) {
      for (const file of listYamlFiles(resolve(baseDir, loc))) {
        const docs = parseAllDocuments(readFileSync(file, 'utf8'), { prettyErrors: true });
        for (const doc of Array.isArray(docs) ? docs : [docs]) {
          if (doc.errors.length > 0) {
            const pos = doc.errors[0]!.linePos?.[0];
            dir.warnings.push({ location: `${file}${pos ? `:${pos.line}` : ''}`, message: doc.errors[0]!.message.split('\n')[0]! });
            continue;
          }
          const raw = doc.toJS();
          if (raw && typeof raw === 'object') entities.push({ entity: raw as Entity, location: file });
        }
      }
    }
    for (const { entity, location } of entities) {
      if (entity.kind !== 'User' && entity.kind !== 'Group') continue;
      try {
        const checked = (await policy.enforce(entity)) ?? entity;
        const validator = checked.kind === 'User' ? userEntityV1alpha1Validator : groupEntityV1alpha1Validator;
        await validator.check(checked);
        dir.add(checked);
      } catch (err) {
        dir.warnings.push({ location, entityRef: safeRef(entity), message: (err as Error).message });
      }
    }
    dir.link();
    return dir;
  }

  private add(entity: Entity): void {
    const ref = stringifyEntityRef(entity);
    const spec = (entity.spec ?? {}) as Record<string, any>;
    const ns = entity.metadata.namespace ?? DEFAULT_NAMESPACE;
    if (entity.kind === 'User') {
      const email = typeof spec.profile?.email === 'string' ? spec.profile.email.toLowerCase() : null;
      this.users.set(ref, {
        ref,
        name: entity.metadata.name,
        email,
        displayName: spec.profile?.displayName ?? null,
        memberOf: (spec.memberOf ?? []).map((r: string) => stringifyEntityRef(parseEntityRef(r, { defaultKind: 'group', defaultNamespace: ns }))),
      });
      if (email) this.byEmail.set(email, ref);
    } else {
      this.groups.set(ref, {
        ref,
        name: entity.metadata.name,
        displayName: spec.profile?.displayName ?? null,
        email: spec.profile?.email ?? null,
        parent: spec.parent ? stringifyEntityRef(parseEntityRef(spec.parent, { defaultKind: 'group', defaultNamespace: ns })) : null,
        members: (spec.members ?? []).map((r: string) => stringifyEntityRef(parseEntityRef(r, { defaultKind: 'user', defaultNamespace: ns }))),
      });
      for (const child of spec.children ?? []) {
        const childRef = stringifyEntityRef(parseEntityRef(child, { defaultKind: 'group', defaultNamespace: ns }));
        this.pendingParents.push([childRef, ref]);
      }
    }
  }

  private readonly pendingParents: [string, string][] = [];

  private link(): void {
    for (const [child, parent] of this.pendingParents) {
      const g = this.groups.get(child);
      if (g && !g.parent) g.parent = parent;
    }
    for (const group of this.groups.values()) {
      for (const member of group.members) {
        const u = this.users.get(member);
        if (u && !u.memberOf.includes(group.ref)) u.memberOf.push(group.ref);
      }
    }
    for (const u of this.users.values()) {
      for (const g of u.memberOf) {
        const group = this.groups.get(g);
        if (group && !group.members.includes(u.ref)) group.members.push(u.ref);
      }
    }
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
      const ref = stringifyEntityRef(parseEntityRef(text, { defaultKind: 'user', defaultNamespace: DEFAULT_NAMESPACE }));
      return ref.startsWith('user:') ? this.users.get(ref.toLowerCase()) ?? this.users.get(ref) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Direct groups and every ancestor, as short refs (`payments`), sorted. */
  teamsOf(userRef: string): string[] {
    if (userRef === BOOTSTRAP_ADMIN_REF) return [this.adminGroup];
    const out = new Set<string>();
    const walk = (groupRef: string) => {
      if (out.has(groupRef)) return; // a parent cycle in the org data must not hang us
      out.add(groupRef);
      const parent = this.groups.get(groupRef)?.parent;
      if (parent) walk(parent);
    };
    for (const g of this.users.get(userRef)?.memberOf ?? []) walk(g);
    return [...out].map(shortRef).sort();
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
    const parents: CedarUid[] = (u?.memberOf ?? []).filter((g) => this.groups.has(g)).map((g) => ({ type: 'Group', id: shortRef(g) }));
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

function safeRef(entity: Entity): string | undefined {
  try {
    return stringifyEntityRef(entity);
  } catch {
    return undefined;
  }
}

function listYamlFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new IdpError('CATALOG_INVALID', `catalog location ${path} does not exist`, {
      field: 'catalog.locations',
      hint: 'Fix the path in idp.config.yaml; relative paths resolve against the config file.',
    });
  }
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    const full = join(path, name);
    if (statSync(full).isDirectory()) out.push(...listYamlFiles(full));
    else if (['.yaml', '.yml'].includes(extname(name))) out.push(full);
  }
  return out;
}

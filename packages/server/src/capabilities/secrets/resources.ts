import { IdpError } from '@idp/contracts';
import { shortRef, type CedarEntity } from '@idp/core';
import type { PolicyGate } from '../../policy/gate.ts';
import { parseSecretPattern, type Tier, type TierLookup } from './paths.ts';

/**
 * Who owns a service. The catalog answers it (a Component's spec.owner); secrets and access
 * depend only on this, so they can be tested, and later fed, without the catalog.
 */
export interface ServiceOwnership {
  /** The owner's entity ref (normally group:default/<team>); null when the catalog has no such service. */
  ownerOf(service: string): Promise<string | null>;
}

/** The catalog as far as ownership needs it; an adapter so this capability never imports the catalog's internals. */
export function catalogOwnership(catalog: {
  graph(): Promise<{ ownerOf(ref: string): string | null }>;
}): ServiceOwnership {
  return {
    async ownerOf(service) {
      return (await catalog.graph()).ownerOf(`component:default/${service}`);
    },
  };
}

/**
 * The Cedar id of "no team": a service owned by a User (the catalog allows it) has no owning
 * team, so only platform admins and grant holders reach its secrets. Backstage names cannot
 * be "-", so no real Group has this id.
 */
const NO_TEAM = '-';

export interface SecretScope {
  env: string;
  service: string;
  /** A KEY, `*`, or a KEY prefix ending in `*`. */
  key: string;
  path: string;
}

export interface ResolvedSecret {
  entity: CedarEntity;
  tier: Tier;
  /** The owning Group's ref, or null when the service is owned by a user. */
  owner: string | null;
}

/** Builds the Secret entities the policies see: path, env, service, tier and the owning team. */
export class SecretResources {
  constructor(
    private readonly ownership: ServiceOwnership,
    readonly tierOf: TierLookup,
  ) {}

  /** Lets `idp policy:check --resource secret:production/payments-api/STRIPE_KEY` see real attributes. */
  registerWith(gate: PolicyGate): void {
    gate.registerResolver('Secret', async (id) => {
      let scope: SecretScope;
      try {
        scope = parseSecretPattern(id, 'resource');
      } catch {
        return undefined;
      }
      const owner = await this.ownership.ownerOf(scope.service);
      return owner === null ? undefined : { resource: this.entity(scope, owner).entity };
    });
  }

  /** NOT_FOUND when the catalog has no such service: secrets belong to services someone owns. */
  async resolve(scope: SecretScope): Promise<ResolvedSecret> {
    const owner = await this.ownership.ownerOf(scope.service);
    if (owner === null) {
      throw new IdpError('NOT_FOUND', `no service "${scope.service}" in the catalog, so ${scope.path} has no owner`, {
        field: 'path',
        hint: 'Secrets belong to catalog Components; check the name with `idp catalog:list --kind component`.',
      });
    }
    return this.entity(scope, owner);
  }

  /** Resolves many scopes with one ownership lookup per service. */
  cached(): (scope: SecretScope) => Promise<ResolvedSecret | null> {
    const owners = new Map<string, Promise<string | null>>();
    return async (scope) => {
      let owner = owners.get(scope.service);
      if (!owner) owners.set(scope.service, (owner = this.ownership.ownerOf(scope.service)));
      const ref = await owner;
      return ref === null ? null : this.entity(scope, ref);
    };
  }

  private entity(scope: SecretScope, ownerRef: string): ResolvedSecret {
    const group = ownerRef.startsWith('group:') ? ownerRef : null;
    const tier = this.tierOf(scope.env);
    return {
      tier,
      owner: group,
      entity: {
        uid: { type: 'Secret', id: scope.path },
        attrs: {
          env: scope.env,
          service: scope.service,
          path: scope.path,
          tier,
          owner: { type: 'Group', id: group ? shortRef(group) : NO_TEAM },
        },
        parents: [],
      },
    };
  }
}

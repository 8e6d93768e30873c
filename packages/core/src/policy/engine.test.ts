import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import {
  PolicyEngine,
  formatUid,
  loadDefaultPolicySources,
  parseResourceRef,
  type CedarEntity,
  type PolicySource,
} from './index.ts';

const defaults = loadDefaultPolicySources();
const engine = PolicyEngine.load(defaults);

const PLATFORM: CedarEntity = { uid: { type: 'Platform', id: 'idp' }, attrs: {}, parents: [] };
const ADMIN_ROLE: CedarEntity = { uid: { type: 'Role', id: 'admin' }, attrs: {}, parents: [] };
const platformTeam: CedarEntity = { uid: { type: 'Group', id: 'platform' }, attrs: { name: 'platform' }, parents: [] };
const payments: CedarEntity = { uid: { type: 'Group', id: 'payments' }, attrs: { name: 'payments' }, parents: [] };
const admin: CedarEntity = {
  uid: { type: 'User', id: 'root@acme.com' },
  attrs: { name: 'Root', email: 'root@acme.com' },
  parents: [platformTeam.uid, ADMIN_ROLE.uid],
};
const alice: CedarEntity = {
  uid: { type: 'User', id: 'alice@acme.com' },
  attrs: { name: 'Alice' },
  parents: [payments.uid],
};
const bob: CedarEntity = { uid: { type: 'User', id: 'bob@acme.com' }, attrs: { name: 'Bob' }, parents: [payments.uid] };
const directory = [platformTeam, payments, ADMIN_ROLE, admin, alice, bob];

const tokenOf = (owner: CedarEntity, id: string): CedarEntity => ({
  uid: { type: 'Token', id },
  attrs: { owner: owner.uid },
  parents: [],
});
const staging: CedarEntity = {
  uid: { type: 'Environment', id: 'staging' },
  attrs: { base: true, tier: 'staging', team: payments.uid },
  parents: [],
};
const checkout: CedarEntity = { uid: { type: 'Service', id: 'checkout' }, attrs: { owner: payments.uid }, parents: [] };

function source(path: string, text: string): PolicySource {
  return { path, text };
}

function loadError(policies: PolicySource[]): IdpError {
  try {
    PolicyEngine.load({ schema: defaults.schema, policies });
  } catch (err) {
    if (err instanceof IdpError) return err;
    throw err;
  }
  throw new Error('expected PolicyEngine.load to throw');
}

describe('PolicyEngine with the default policies', () => {
  it('names each policy <file>/<@id>', () => {
    expect(engine.policyIds).toEqual([
      'access/anyone-may-request',
      'access/owners-auto-approve',
      'access/others-need-approval',
      'access/owners-approve',
      'access/owners-revoke',
      'access/requester-revoke-own',
      'access/max-duration',
      'access/max-duration-production',
      'admins/platform-admins-all',
      'catalog/catalog-register-remote',
      'catalog/catalog-refresh-anyone',
      'deployments/owners-deploy',
      'deployments/production-needs-auto-canary',
      'deployments/freeze-windows',
      'deployments/env-owner-deploys',
      'deployments/env-team-deploys',
      'deployments/base-service-owners-deploy',
      'deployments/production-needs-grant',
      'deployments/read-service-owners',
      'deployments/read-env-owner',
      'environments/create-own',
      'environments/max-ttl',
      'environments/quota',
      'environments/no-production-clones',
      'environments/base-protected',
      'environments/owner-manage',
      'environments/team-read-connect',
      'environments/base-visible',
      'environments/no-production-connect',
      'policy/policy-check-anyone',
      'secrets/owners-read-non-production',
      'secrets/owners-list',
      'secrets/owners-write',
      'secrets/owners-workload-token',
      'secrets/grant-holders-read',
      'secrets/production-needs-grant',
      'secrets/workload-token-max-ttl',
      'templates/template-run-team-members',
      'tokens/tokens-own-revoke',
    ]);
    expect(engine.warnings).toEqual([]);
  });

  it('lets a platform admin do every action on every kind of resource', () => {
    const cases: Array<[string, CedarEntity]> = [
      ['token:create', PLATFORM],
      ['token:revoke', tokenOf(alice, 'tok-1')],
      ['audit:verify', PLATFORM],
      [
        'env:delete',
        {
          uid: { type: 'Environment', id: 'feature-x' },
          attrs: { base: false, tier: 'staging', owner: alice.uid },
          parents: [],
        },
      ],
      ['env:read', staging],
      ['deploy:rollback', checkout],
      ['secret:read', checkout],
      ['catalog:refresh', PLATFORM],
    ];
    for (const [action, resource] of cases) {
      const decision = engine.authorize({
        principal: admin.uid,
        action,
        resource: resource.uid,
        context: { now: 1_700_000_000 },
        entities: [...directory, resource],
      });
      expect(decision, action).toMatchObject({ decision: 'allow', errors: [] });
      // Other policies may permit the same action too (anyone may refresh the catalog).
      expect(decision.permittedBy, action).toContain('admins/platform-admins-all');
    }
  });

  it("decides deploys on the target environment: owner and team, base to the service's team, production behind a grant", () => {
    const identity: CedarEntity = { uid: { type: 'Group', id: 'identity' }, attrs: { name: 'identity' }, parents: [] };
    const dave: CedarEntity = {
      uid: { type: 'User', id: 'dave@acme.com' },
      attrs: { name: 'Dave' },
      parents: [identity.uid],
    };
    const env = (id: string, attrs: Record<string, unknown>): CedarEntity => ({
      uid: { type: 'Environment', id },
      attrs,
      parents: [],
    });
    const daveEnv = env('feature-dave', { base: false, tier: 'staging', owner: dave.uid, team: identity.uid });
    const aliceEnv = env('feature-alice', { base: false, tier: 'staging', owner: alice.uid, team: payments.uid });
    const production = env('production', { base: true, tier: 'production' });
    const decide = (who: CedarEntity, action: string, resource: CedarEntity, context: Record<string, unknown> = {}) =>
      engine.authorize({
        principal: who.uid,
        action,
        resource: resource.uid,
        context: { now: 1_700_000_000, service: 'checkout', serviceOwner: payments.uid, ...context },
        entities: [...directory, identity, dave, resource],
      });
    expect(decide(alice, 'deploy:create', aliceEnv).permittedBy).toContain('deployments/env-owner-deploys');
    expect(decide(bob, 'deploy:promote', aliceEnv).permittedBy).toEqual(['deployments/env-team-deploys']);
    expect(decide(alice, 'deploy:create', daveEnv).decision).toBe('deny');
    expect(decide(alice, 'deploy:create', staging).permittedBy).toEqual(['deployments/base-service-owners-deploy']);
    expect(decide(dave, 'deploy:create', staging).decision).toBe('deny');
    for (const who of [alice, admin]) {
      expect(decide(who, 'deploy:create', production)).toMatchObject({
        decision: 'deny',
        forbiddenBy: ['deployments/production-needs-grant'],
      });
      expect(decide(who, 'deploy:create', production, { hasGrant: true }).decision).toBe('allow');
    }
    expect(decide(alice, 'deploy:abort', production).decision).toBe('allow');
    expect(decide(dave, 'deploy:read', aliceEnv).decision).toBe('deny');
    expect(decide(dave, 'deploy:read', daveEnv).permittedBy).toEqual(['deployments/read-env-owner']);
    expect(decide(bob, 'deploy:read', production).permittedBy).toEqual(['deployments/read-service-owners']);
  });

  it('denies a non-admin token:create and says which request no policy permits', () => {
    const decision = engine.authorize({
      principal: alice.uid,
      action: 'token:create',
      resource: PLATFORM.uid,
      entities: [...directory, PLATFORM],
    });
    expect(decision).toEqual({
      decision: 'deny',
      permittedBy: [],
      forbiddenBy: [],
      reason: 'no policy permits token:create for User::"alice@acme.com" on Platform::"idp"',
      errors: [],
    });
  });

  it('lets the owner revoke their own token but not somebody else’s', () => {
    const own = tokenOf(alice, 'tok-alice');
    const others = tokenOf(bob, 'tok-bob');
    const revoke = (token: CedarEntity) =>
      engine.authorize({
        principal: alice.uid,
        action: 'token:revoke',
        resource: token.uid,
        entities: [...directory, token],
      });

    expect(revoke(own)).toMatchObject({ decision: 'allow', permittedBy: ['tokens/tokens-own-revoke'] });
    expect(revoke(others)).toMatchObject({ decision: 'deny', permittedBy: [] });
    expect(revoke(others).reason).toContain('token:revoke');
  });

  it('lets anyone run policy:check', () => {
    const decision = engine.authorize({
      principal: bob.uid,
      action: 'policy:check',
      resource: PLATFORM.uid,
      entities: [bob],
    });
    expect(decision).toMatchObject({ decision: 'allow', permittedBy: ['policy/policy-check-anyone'] });
  });

  it('denies, with the reason, a request that does not fit the schema', () => {
    const wrongResource = engine.authorize({
      principal: admin.uid,
      action: 'env:create',
      resource: PLATFORM.uid,
      entities: directory,
    });
    expect(wrongResource.decision).toBe('deny');
    expect(wrongResource.errors.join()).toContain('resource type `Platform` is not valid');

    const unknownContext = engine.authorize({
      principal: admin.uid,
      action: 'token:create',
      resource: PLATFORM.uid,
      context: { nonsense: 1 },
      entities: directory,
    });
    expect(unknownContext.decision).toBe('deny');
    expect(unknownContext.reason).toContain('nonsense');

    const fractionalNow = engine.authorize({
      principal: admin.uid,
      action: 'token:create',
      resource: PLATFORM.uid,
      context: { now: 1.5 },
      entities: directory,
    });
    expect(fractionalNow.decision).toBe('deny');
    expect(fractionalNow.errors.join()).toContain('integers');
  });

  it('denies instead of throwing when the request is not JSON, and keeps working afterwards', () => {
    const broken = engine.authorize({
      principal: admin.uid,
      action: 'token:create',
      resource: PLATFORM.uid,
      context: { now: 10n },
      entities: directory,
    });
    expect(broken.decision).toBe('deny');
    expect(broken.errors).toHaveLength(1);
    expect(
      engine.authorize({ principal: admin.uid, action: 'token:create', resource: PLATFORM.uid, entities: directory })
        .decision,
    ).toBe('allow');
  });
});

describe('PolicyEngine with custom policies', () => {
  it('lets a forbid override the admin permit and names both sides', () => {
    const withFreeze = PolicyEngine.load({
      schema: defaults.schema,
      policies: [
        ...defaults.policies,
        source(
          'policies/prod.cedar',
          `@id("no-friday-deploys")
forbid (principal, action == Action::"deploy:create", resource is Service)
when { context has now && context.now >= 1700179200 };`,
        ),
      ],
    });
    const decision = withFreeze.authorize({
      principal: admin.uid,
      action: 'deploy:create',
      resource: checkout.uid,
      context: { now: 1_700_200_000 },
      entities: [...directory, checkout],
    });
    expect(decision).toEqual({
      decision: 'deny',
      permittedBy: ['admins/platform-admins-all'],
      forbiddenBy: ['prod/no-friday-deploys'],
      reason: 'forbidden by prod/no-friday-deploys',
      errors: [],
    });

    const before = withFreeze.authorize({
      principal: admin.uid,
      action: 'deploy:create',
      resource: checkout.uid,
      context: { now: 1_700_000_000 },
      entities: [...directory, checkout],
    });
    expect(before.decision).toBe('allow');
  });

  it('fails closed when an entity lacks an attribute a forbid reads', () => {
    const withProdGuard = PolicyEngine.load({
      schema: defaults.schema,
      policies: [
        ...defaults.policies,
        source(
          'prod.cedar',
          '@id("no-prod-deletes") forbid (principal, action == Action::"env:delete", resource) when { resource.tier == "production" };',
        ),
      ],
    });
    const production: CedarEntity = {
      uid: { type: 'Environment', id: 'production' },
      attrs: { base: true },
      parents: [],
    };
    const decision = withProdGuard.authorize({
      principal: admin.uid,
      action: 'env:delete',
      resource: production.uid,
      entities: [...directory, production],
    });
    expect(decision.decision).toBe('deny');
    expect(decision.errors.join()).toContain('tier');
  });

  it('decides the same when handed a whole directory, and still sees groups and entities the policies name', () => {
    const backend: CedarEntity = { uid: { type: 'Group', id: 'backend' }, attrs: { name: 'backend' }, parents: [] };
    const team: CedarEntity = { ...payments, parents: [backend.uid] };
    const carol: CedarEntity = {
      uid: { type: 'User', id: 'carol@acme.com' },
      attrs: { name: 'Carol' },
      parents: [team.uid],
    };
    const unrelated = Array.from({ length: 30 }, (_, i): CedarEntity => ({
      uid: { type: 'Group', id: `team-${i}` },
      attrs: {},
      parents: [],
    }));
    const nested = PolicyEngine.load({
      schema: defaults.schema,
      policies: [
        source(
          'audit.cedar',
          `@id("backend-reads-audit") permit (principal in Group::"backend", action == Action::"audit:read", resource);
@id("platform-named") permit (principal, action == Action::"audit:verify", resource) when { Group::"platform".name == "platform" };`,
        ),
      ],
    });
    // The unrelated groups lack the required `name`: were they evaluated, Cedar would reject the request.
    const entities = [...unrelated, carol, team, backend, platformTeam];
    expect(
      nested.authorize({ principal: carol.uid, action: 'audit:read', resource: PLATFORM.uid, entities }),
    ).toMatchObject({
      decision: 'allow',
      permittedBy: ['audit/backend-reads-audit'],
    });
    expect(
      nested.authorize({ principal: carol.uid, action: 'audit:verify', resource: PLATFORM.uid, entities }),
    ).toMatchObject({
      decision: 'allow',
      permittedBy: ['audit/platform-named'],
    });
    // Two different descriptions of the same reachable entity are still an error, not a coin toss.
    const conflicting = nested.authorize({
      principal: carol.uid,
      action: 'audit:read',
      resource: PLATFORM.uid,
      entities: [...entities, { ...team, attrs: { name: 'other' } }],
    });
    expect(conflicting.decision).toBe('deny');
    expect(conflicting.errors.join()).toContain('duplicate');
  });

  it('ids policies without @id as <file>/policy<N>, counting from 0 in file order', () => {
    const text = Array.from({ length: 12 }, (_, n) =>
      n === 3
        ? '@id("named")\npermit (principal, action == Action::"audit:read", resource);'
        : `permit (principal, action == Action::"audit:read", resource) when { ${n} == ${n} };`,
    ).join('\n');
    const many = PolicyEngine.load({ schema: defaults.schema, policies: [source('/etc/idp/audit.cedar', text)] });
    expect(many.policyIds).toEqual([
      'audit/policy0',
      'audit/policy1',
      'audit/policy2',
      'audit/named',
      ...Array.from({ length: 8 }, (_, i) => `audit/policy${i + 4}`),
    ]);
  });

  it('reports a policy that errors at evaluation and ignores it', () => {
    const erroring = PolicyEngine.load({
      schema: defaults.schema,
      policies: [
        source(
          'errs.cedar',
          `@id("overflow") permit (principal, action == Action::"audit:read", resource) when { context has now && context.now * 9223372036854775807 > 0 };`,
        ),
      ],
    });
    // The validator cannot see overflow coming, so this one slips through load and errors at run time.
    const decision = erroring.authorize({
      principal: alice.uid,
      action: 'audit:read',
      resource: PLATFORM.uid,
      context: { now: 2 },
      entities: [alice],
    });
    expect(decision.decision).toBe('deny');
    expect(decision.errors).toHaveLength(1);
    expect(decision.errors[0]).toMatch(/^errs\/overflow: .*overflow/);
    expect(decision.reason).toContain('1 policy could not be evaluated');
  });

  it('rejects text that does not parse, naming the file and line', () => {
    const err = loadError([
      ...defaults.policies,
      source('policies/broken.cedar', '// ünïcode comment\npermit (principal, action, resource)\nwhen { 1 + };\n'),
    ]);
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.message).toContain('policies/broken.cedar:3:');
    expect(err.details).toMatchObject({ file: 'policies/broken.cedar', line: 3 });
  });

  it('rejects a policy that uses an action the schema does not declare', () => {
    const err = loadError([
      source('policies/typo.cedar', '@id("oops")\npermit (principal, action == Action::"env:destroy", resource);'),
    ]);
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.message).toContain('policies/typo.cedar:2:');
    expect(err.message).toContain('[typo/oops]');
    expect(err.message).toContain('env:destroy');
    expect(err.details).toMatchObject({ file: 'policies/typo.cedar', policyId: 'typo/oops' });
  });

  it('rejects a policy that reads an attribute the schema does not declare', () => {
    const err = loadError([
      source(
        'policies/attr.cedar',
        'permit (principal, action == Action::"env:read", resource) when { resource.colour == "red" };',
      ),
    ]);
    expect(err.message).toContain('policies/attr.cedar:1:');
    expect(err.message).toContain('colour');
  });

  it('rejects duplicate ids across files and within a file', () => {
    const across = loadError([
      source('a/tokens.cedar', '@id("same") permit (principal, action == Action::"token:list", resource);'),
      source('b/tokens.cedar', '@id("same") permit (principal, action == Action::"token:list", resource);'),
    ]);
    expect(across.code).toBe('POLICY_INVALID');
    expect(across.message).toContain('tokens/same');
    expect(across.message).toContain('a/tokens.cedar');
    expect(across.details.file).toBe('b/tokens.cedar');

    const within = loadError([
      source(
        'x.cedar',
        '@id("twice") permit (principal, action == Action::"token:list", resource);\n@id("twice") forbid (principal, action, resource);',
      ),
    ]);
    expect(within.message).toContain('x/twice');
  });

  it('rejects an empty set of policies', () => {
    expect(loadError([]).code).toBe('POLICY_INVALID');
    const commentsOnly = loadError([source('empty.cedar', '// nothing here yet\n')]);
    expect(commentsOnly.message).toContain('empty.cedar');
  });

  it('rejects templates, which the engine cannot link', () => {
    const err = loadError([source('tpl.cedar', 'permit (principal == ?principal, action, resource);')]);
    expect(err.message).toContain('tpl.cedar');
    expect(err.message).toContain('template');
  });

  it('rejects a schema that does not parse, naming the schema file', () => {
    let caught: unknown;
    try {
      PolicyEngine.load({
        schema: source('policies/schema.cedarschema', 'entity User { name: Strin };'),
        policies: defaults.policies,
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IdpError);
    expect((caught as IdpError).code).toBe('POLICY_INVALID');
    expect((caught as IdpError).message).toContain('policies/schema.cedarschema:1:');
  });
});

describe('parseResourceRef and formatUid', () => {
  it('parses kind:name for every entity kind, case-insensitively', () => {
    expect(parseResourceRef('environment:staging')).toEqual({ type: 'Environment', id: 'staging' });
    expect(parseResourceRef('platform:idp')).toEqual({ type: 'Platform', id: 'idp' });
    expect(parseResourceRef('User:alice@company.com')).toEqual({ type: 'User', id: 'alice@company.com' });
    expect(parseResourceRef('SECRET:staging/checkout/DB_URL')).toEqual({
      type: 'Secret',
      id: 'staging/checkout/DB_URL',
    });
    expect(parseResourceRef('token:tok:with:colons')).toEqual({ type: 'Token', id: 'tok:with:colons' });
    for (const kind of ['group', 'role', 'service', 'namespace']) {
      expect(parseResourceRef(`${kind}:x`).type.toLowerCase()).toBe(kind);
    }
  });

  it('accepts the Cedar form that decisions print', () => {
    const uid = { type: 'Environment', id: 'staging' };
    expect(formatUid(uid)).toBe('Environment::"staging"');
    expect(parseResourceRef(formatUid(uid))).toEqual(uid);
    expect(parseResourceRef(formatUid({ type: 'User', id: 'we"ird\\id' }))).toEqual({ type: 'User', id: 'we"ird\\id' });
  });

  it('rejects references it cannot parse with INVALID_REF on the resource field', () => {
    for (const bad of ['staging', ':staging', 'environment:', 'cluster:prod', 'environment: staging', '']) {
      let caught: unknown;
      try {
        parseResourceRef(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught, bad).toBeInstanceOf(IdpError);
      expect((caught as IdpError).code).toBe('INVALID_REF');
      expect((caught as IdpError).details.field).toBe('resource');
      expect((caught as IdpError).hint).toContain('environment:staging');
    }
  });
});

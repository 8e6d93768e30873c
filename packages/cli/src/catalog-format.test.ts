import { describe, expect, it } from 'vitest';
import type { CatalogEntity, DependencyNode, ImpactReport, OnCallContact, Team } from '@idp/contracts';
import { displayRef } from '@idp/core/refs';
import { formatDependencyTree, formatEntity, formatImpact, formatOnCall, formatTeam } from './catalog-format.ts';
import { absoluteTarget } from './commands/catalog/register.ts';

function node(
  ref: string,
  owner: string | null,
  children: DependencyNode[] = [],
  extra: Partial<DependencyNode> = {},
): DependencyNode {
  return {
    ref,
    kind: ref.split(':')[0]!,
    owner,
    relation: 'dependsOn',
    missing: false,
    cycle: false,
    children,
    ...extra,
  };
}

function contact(value: string | null, team = 'group:default/payments'): OnCallContact {
  return { team, contact: value, source: value ? 'group-email' : 'none', route: [] };
}

describe('refs for people', () => {
  it('drops the default namespace and shows owner groups by name', () => {
    expect(displayRef('component:default/payments-api')).toBe('component:payments-api');
    expect(displayRef('component:billing/ledger')).toBe('component:billing/ledger');
    expect(displayRef('group:default/payments')).toBe('payments');
    expect(displayRef('user:default/alice')).toBe('alice');
    expect(displayRef(null)).toBe('-');
  });
});

describe('formatDependencyTree', () => {
  it('draws the tree with owners, and marks cycles, missing refs and API edges', () => {
    const tree = {
      depth: 3,
      truncated: false,
      root: node('component:default/payments-api', 'group:default/payments', [
        node('component:default/users-api', 'group:default/identity', [
          node('resource:default/users-db', 'group:default/identity'),
          node('component:default/payments-api', 'group:default/payments', [], { cycle: true }),
        ]),
        node('component:default/notifications-service', 'group:default/platform', [
          node('component:default/ghost', null, [], { missing: true }),
        ]),
        node('api:default/ledger', null, [], { relation: 'consumesApi' }),
      ]),
    };

    expect(formatDependencyTree(tree)).toBe(
      [
        'component:payments-api (payments)',
        '├── component:users-api (identity)',
        '│   ├── resource:users-db (identity)',
        '│   └── component:payments-api (payments) (cycle)',
        '├── component:notifications-service (platform)',
        '│   └── component:ghost (missing)',
        '└── api:ledger [consumesApi] (no owner)',
        '',
      ].join('\n'),
    );
  });

  it('prints a lone root on one line', () => {
    expect(
      formatDependencyTree({ depth: 3, truncated: false, root: node('component:default/leaf', 'group:default/x') }),
    ).toBe('component:leaf (x)\n');
  });
});

describe('formatImpact', () => {
  const report: ImpactReport = {
    target: 'component:default/users-api',
    dependents: [
      {
        ref: 'component:default/payments-api',
        kind: 'component',
        depth: 1,
        via: 'component:default/users-api',
        owner: 'group:default/payments',
        oncall: contact('payments@company.com'),
      },
      {
        ref: 'component:default/checkout-web',
        kind: 'component',
        depth: 2,
        via: 'component:default/payments-api',
        owner: 'group:default/storefront',
        oncall: contact(null, 'group:default/storefront'),
      },
      {
        ref: 'component:default/orphan',
        kind: 'component',
        depth: 2,
        via: 'component:default/payments-api',
        owner: null,
        oncall: contact(null, ''),
      },
    ],
    teams: [
      { team: 'group:default/payments', contact: 'payments@company.com', refs: ['component:default/payments-api'] },
      { team: 'group:default/storefront', contact: null, refs: ['component:default/checkout-web'] },
    ],
    cycles: [['component:default/users-api', 'component:default/payments-api', 'component:default/users-api']],
  };

  it('groups dependents by depth, then lists who must know and the cycles', () => {
    expect(formatImpact(report)).toBe(
      [
        '3 entities depend on component:users-api.',
        '',
        'Depth 1 (depend on it directly):',
        '  REF                     KIND       OWNER     ON-CALL',
        '  component:payments-api  component  payments  payments@company.com',
        '',
        'Depth 2:',
        '  REF                     KIND       OWNER       ON-CALL     VIA',
        '  component:checkout-web  component  storefront  none found  component:payments-api',
        '  component:orphan        component  -           none found  component:payments-api',
        '',
        'Who must know:',
        '  TEAM        CONTACT               AFFECTED',
        '  payments    payments@company.com  component:payments-api',
        '  storefront  none found            component:checkout-web',
        '  no owner, nobody to tell: component:orphan',
        '',
        'Dependency cycles:',
        '  component:users-api → component:payments-api → component:users-api',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing depends on the target', () => {
    expect(formatImpact({ target: 'component:default/leaf', dependents: [], teams: [], cycles: [] })).toBe(
      'Nothing in the catalog depends on component:leaf.\n',
    );
  });
});

describe('formatEntity', () => {
  const entity: CatalogEntity = {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: 'payments-api',
      description: 'Takes payments',
      annotations: { 'idp.dev/oncall': 'pagerduty:PAY', 'backstage.io/managed-by-location': 'file:/srv/catalog' },
    },
    spec: { type: 'service', owner: 'payments', lifecycle: 'production', system: 'checkout' },
    relations: [
      { type: 'ownedBy', targetRef: 'group:default/payments' },
      { type: 'dependsOn', targetRef: 'component:default/users-api' },
      { type: 'dependsOn', targetRef: 'component:default/notifications-service' },
      { type: 'partOf', targetRef: 'system:default/checkout' },
    ],
  };

  it('summarises the entity, then annotations and relations by type', () => {
    expect(formatEntity(entity)).toBe(
      [
        'Ref:          component:payments-api',
        'Kind:         Component',
        'Type:         service',
        'Owner:        payments',
        'Lifecycle:    production',
        'System:       system:checkout',
        'Title:        -',
        'Description:  Takes payments',
        'Tags:         -',
        'Annotations:',
        '  backstage.io/managed-by-location  file:/srv/catalog',
        '  idp.dev/oncall                    pagerduty:PAY',
        'Relations:',
        '  dependsOn  component:notifications-service, component:users-api',
        '  ownedBy    payments',
        '  partOf     system:checkout',
        '',
      ].join('\n'),
    );
  });

  it('says none when there are no annotations or relations', () => {
    const bare: CatalogEntity = { apiVersion: 'v1', kind: 'Group', metadata: { name: 'x' } };
    expect(formatEntity(bare)).toMatch(/^Owner:\s+-$/m);
    expect(formatEntity(bare)).toMatch(/^Annotations:  none\nRelations:  none\n$/m);
  });
});

describe('formatOnCall and formatTeam', () => {
  it('prints the contact, then the route one numbered step per line', () => {
    const text = formatOnCall({
      team: 'group:default/payments',
      contact: 'payments@company.com',
      source: 'group-email',
      route: [
        'component:default/payments-api is owned by group:default/payments',
        'group:default/payments has the email payments@company.com',
      ],
    });
    expect(text).toBe(
      [
        'Contact:  payments@company.com',
        'Team:     payments',
        'Source:   group-email',
        'Route:',
        '  1. component:default/payments-api is owned by group:default/payments',
        '  2. group:default/payments has the email payments@company.com',
        '',
      ].join('\n'),
    );
  });

  it('lists members with direct or inherited membership and what the team owns', () => {
    const team: Team = {
      ref: 'group:default/engineering',
      name: 'engineering',
      displayName: 'Engineering',
      email: null,
      parent: null,
      children: ['group:default/payments'],
      members: [
        { ref: 'user:default/alice', email: 'alice@company.com', direct: false },
        { ref: 'user:default/zed', email: null, direct: true },
      ],
      owns: [],
      oncall: { team: 'group:default/engineering', contact: null, source: 'none', route: [] },
    };
    expect(formatTeam(team)).toBe(
      [
        'Team:      engineering',
        'Name:      Engineering',
        'Email:     -',
        'Parent:    -',
        'Children:  payments',
        'On-call:   none found',
        '',
        'Members (2):',
        '  USER   EMAIL              MEMBERSHIP',
        '  alice  alice@company.com  inherited',
        '  zed    -                  direct',
        '',
        'Owns (0):',
        '  nothing',
        '',
      ].join('\n'),
    );
  });
});

describe('catalog:register targets', () => {
  it('makes local paths absolute and leaves URLs alone', () => {
    expect(absoluteTarget('catalog')).toBe(`${process.cwd()}/catalog`);
    expect(absoluteTarget('file:./catalog')).toBe(`${process.cwd()}/catalog`);
    expect(absoluteTarget('/srv/catalog')).toBe('/srv/catalog');
    expect(absoluteTarget('https://example.com/catalog-info.yaml')).toBe('https://example.com/catalog-info.yaml');
    expect(absoluteTarget('git+https://github.com/acme/x.git')).toBe('git+https://github.com/acme/x.git');
    expect(absoluteTarget('git@github.com:acme/x.git')).toBe('git@github.com:acme/x.git');
    expect(absoluteTarget('acme/x', 'git')).toBe('acme/x');
  });
});

import { z } from 'zod';

/**
 * idp's own catalog endpoints (the CLI and portal use them). Backstage's catalog REST API, with
 * its own shapes, lives beside them under /api/catalog; these are under /api/catalog/idp and
 * /api/teams so they never collide with a Backstage path.
 */

/** A Backstage entity as stored: metadata.uid, metadata.etag and relations filled in. */
export const CatalogEntity = z
  .object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata: z
      .object({
        name: z.string(),
        namespace: z.string().optional(),
        uid: z.string().optional(),
        etag: z.string().optional(),
        title: z.string().optional(),
        description: z.string().optional(),
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
        tags: z.array(z.string()).optional(),
      })
      .passthrough(),
    spec: z.record(z.string(), z.unknown()).optional(),
    relations: z.array(z.object({ type: z.string(), targetRef: z.string() }).passthrough()).optional(),
  })
  .passthrough()
  .meta({ id: 'CatalogEntity' });
export type CatalogEntity = z.infer<typeof CatalogEntity>;

export const CatalogLocation = z
  .object({
    id: z.string(),
    type: z.string().describe('file | url | git'),
    target: z.string(),
    origin: z.enum(['config', 'api']).describe('config: from idp.config.yaml; api: registered by a user'),
    createdBy: z.string().describe("Who registered it (`config` for the config's locations)"),
    identitySource: z
      .boolean()
      .describe(
        'Whether its User and Group entities make the directory (config locations, or marked by a platform admin); elsewhere they are refused',
      ),
    entities: z.number().int().describe('Entities this location currently provides'),
    errors: z.number().int(),
    warnings: z.number().int().describe('Problems that did not refuse anything (listed with the errors)'),
    refreshedAt: z.string().nullable(),
    status: z.enum(['ok', 'error', 'pending']),
    lastError: z.string().nullable(),
  })
  .meta({ id: 'CatalogLocation' });
export type CatalogLocation = z.infer<typeof CatalogLocation>;

export const RegisterLocationRequest = z
  .object({
    target: z
      .string()
      .min(1)
      .describe('A path on the server, an http(s) URL, or a git repository URL (git+https://…, …/repo.git)'),
    type: z.enum(['file', 'url', 'git']).optional().describe('Guessed from the target when absent'),
    dryRun: z.boolean().default(false),
    identitySource: z
      .boolean()
      .optional()
      .describe(
        'Whether its Users and Groups make the directory: only platform admins may say true; absent: true for an admin, false for anyone else',
      ),
  })
  .strict();
export type RegisterLocationRequest = z.infer<typeof RegisterLocationRequest>;

export const CatalogWarning = z
  .object({
    file: z.string().nullable(),
    line: z.number().int().nullable(),
    entityRef: z.string().nullable(),
    message: z.string(),
  })
  .meta({ id: 'CatalogWarning' });
export type CatalogWarning = z.infer<typeof CatalogWarning>;

export const RefreshResult = z
  .object({
    location: CatalogLocation,
    added: z.number().int(),
    updated: z.number().int(),
    removed: z.number().int(),
    unchanged: z.number().int(),
    errors: z.number().int(),
    warnings: z
      .array(CatalogWarning)
      .describe('What was accepted but is worth fixing (at most 100; `catalog:errors` lists them all)'),
    durationMs: z.number(),
  })
  .meta({ id: 'RefreshResult' });
export type RefreshResult = z.infer<typeof RefreshResult>;

export const CatalogError = z
  .object({
    location: z.string().describe('type:target of the location'),
    file: z.string().nullable(),
    line: z.number().int().nullable(),
    entityRef: z.string().nullable(),
    message: z.string(),
    severity: z
      .enum(['error', 'warning'])
      .describe('error: refused (the previous version, if any, is kept); warning: accepted'),
    at: z.string(),
  })
  .meta({ id: 'CatalogError' });
export type CatalogError = z.infer<typeof CatalogError>;

/** A node of a dependency tree; `cycle: true` marks a ref already on the path (not expanded). */
export interface DependencyNode {
  ref: string;
  kind: string;
  owner: string | null;
  relation: string | null;
  missing: boolean;
  cycle: boolean;
  children: DependencyNode[];
}
export const DependencyNode: z.ZodType<DependencyNode> = z.lazy(() =>
  z.object({
    ref: z.string(),
    kind: z.string(),
    owner: z.string().nullable(),
    relation: z.string().nullable().describe('How the parent depends on it: dependsOn | consumesApi | …'),
    missing: z.boolean().describe('The ref is named but no such entity is in the catalog'),
    cycle: z.boolean(),
    children: z.array(DependencyNode),
  }),
);

export const DependencyTree = z
  .object({ root: DependencyNode, depth: z.number().int(), truncated: z.boolean() })
  .meta({ id: 'DependencyTree' });
export type DependencyTree = z.infer<typeof DependencyTree>;

export const OnCallContact = z
  .object({
    team: z.string().nullable().describe('Group ref of the owner'),
    contact: z.string().nullable().describe('Where to page: email, rota target, …'),
    source: z.enum(['rota', 'annotation', 'group-email', 'parent-group', 'none']),
    route: z.array(z.string()).describe('Each step taken to find the contact, in words'),
  })
  .meta({ id: 'OnCallContact' });
export type OnCallContact = z.infer<typeof OnCallContact>;

export const ImpactEntry = z.object({
  ref: z.string(),
  kind: z.string(),
  depth: z.number().int().describe('1 = depends directly on the target'),
  via: z.string().describe('The ref through which it depends on the target'),
  owner: z.string().nullable(),
  oncall: OnCallContact,
});
export type ImpactEntry = z.infer<typeof ImpactEntry>;

export const ImpactReport = z
  .object({
    target: z.string(),
    dependents: z.array(ImpactEntry).describe('Every transitive dependent, by depth then ref'),
    teams: z
      .array(
        z.object({
          team: z.string(),
          contact: z.string().nullable(),
          refs: z.array(z.string()).describe('Its dependents in this answer (this page, when paged)'),
          total: z.number().int().optional().describe('Paged answers: all of its dependents in the report'),
        }),
      )
      .describe('Every team of the whole report, paged or not'),
    cycles: z.array(z.array(z.string())).describe('Dependency cycles met on the way'),
    total: z.number().int().optional().describe('Paged answers: dependents in the whole report'),
    nextCursor: z
      .string()
      .nullable()
      .optional()
      .describe('Paged answers: pass it as `cursor` for the next page; null on the last page'),
  })
  .meta({ id: 'ImpactReport' });
export type ImpactReport = z.infer<typeof ImpactReport>;

export const Team = z
  .object({
    ref: z.string(),
    name: z.string(),
    displayName: z.string().nullable(),
    email: z.string().nullable(),
    parent: z.string().nullable(),
    children: z.array(z.string()),
    members: z.array(z.object({ ref: z.string(), email: z.string().nullable(), direct: z.boolean() })),
    owns: z.array(z.object({ ref: z.string(), kind: z.string(), type: z.string().nullable() })),
    oncall: OnCallContact,
  })
  .meta({ id: 'Team' });
export type Team = z.infer<typeof Team>;

export const TeamSummary = z.object({
  ref: z.string(),
  name: z.string(),
  displayName: z.string().nullable(),
  parent: z.string().nullable(),
  members: z.number().int(),
  owns: z.number().int(),
});
export type TeamSummary = z.infer<typeof TeamSummary>;

// The requests and lists of the /api/catalog/idp and /api/teams routes. Lists keep the `{items}`
// wrapper so paging fields can be added without breaking callers.

export const CatalogLocationList = z.object({ items: z.array(CatalogLocation) }).meta({ id: 'CatalogLocationList' });
export type CatalogLocationList = z.infer<typeof CatalogLocationList>;

export const RefreshResultList = z.object({ items: z.array(RefreshResult) }).meta({ id: 'RefreshResultList' });
export type RefreshResultList = z.infer<typeof RefreshResultList>;

export const CatalogErrorList = z.object({ items: z.array(CatalogError) }).meta({ id: 'CatalogErrorList' });
export type CatalogErrorList = z.infer<typeof CatalogErrorList>;

export const CatalogErrorQuery = z.object({ location: z.string().optional() }).strict();
export type CatalogErrorQuery = z.infer<typeof CatalogErrorQuery>;

export const LocationIdParams = z.object({ id: z.string().min(1) });

export const SetIdentitySourceRequest = z.object({ identitySource: z.boolean() }).strict();
export type SetIdentitySourceRequest = z.infer<typeof SetIdentitySourceRequest>;

/** Entity list filters; `q` is a free-text search, `cursor` continues a listing (the filters are then ignored). */
export const EntityListQuery = z
  .object({
    kind: z.string().optional().describe('component, api, group, …'),
    owner: z.string().optional().describe('payments or group:default/payments'),
    type: z.string().optional().describe('spec.type, e.g. service'),
    q: z.string().max(200).optional().describe('Substring of the name, title or description'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().optional(),
  })
  .strict();
export type EntityListQuery = z.input<typeof EntityListQuery>;

/** One page of entities; pass `nextCursor` back as `cursor` for the next one (null: last page). */
export const CatalogEntityPage = z
  .object({ items: z.array(CatalogEntity), totalItems: z.number().int(), nextCursor: z.string().nullable() })
  .meta({ id: 'CatalogEntityPage' });
export type CatalogEntityPage = z.infer<typeof CatalogEntityPage>;

export const EntityRefQuery = z
  .object({ ref: z.string().min(1).describe('payments-api, group:payments, component:default/payments-api') })
  .strict();
export type EntityRefQuery = z.infer<typeof EntityRefQuery>;

export const ImpactQuery = EntityRefQuery.extend({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .optional()
    .describe('Dependents per page; absent: the whole report in one answer'),
  cursor: z.string().min(1).optional().describe('nextCursor of the previous page'),
}).strict();
export type ImpactQuery = z.input<typeof ImpactQuery>;

export const DependencyQuery = EntityRefQuery.extend({ depth: z.coerce.number().int().min(1).max(10).default(3) });
export type DependencyQuery = z.input<typeof DependencyQuery>;

export const TeamList = z.object({ items: z.array(TeamSummary) }).meta({ id: 'TeamList' });
export type TeamList = z.infer<typeof TeamList>;

export const TeamNameParams = z.object({ name: z.string().min(1) });

import { z } from 'zod';
import {
  CatalogEntity,
  CatalogError,
  CatalogLocation,
  DependencyTree,
  IdpError,
  ImpactReport,
  OnCallContact,
  RefreshResult,
  RegisterLocationRequest,
  Team,
  TeamSummary,
} from '@idp/contracts';
import type { Services, TypedApp } from '../../app.ts';
import { errorResponses } from '../../http/errors.ts';
import { andFilters, FilterInputError, type EntityFilter } from './filters.ts';
import { normalizeRef } from './util.ts';

const tags = ['catalog'];

const EntityListQuery = z
  .object({
    kind: z.string().optional().describe('component, api, group, …'),
    owner: z.string().optional().describe('payments or group:default/payments'),
    type: z.string().optional().describe('spec.type, e.g. service'),
    q: z.string().max(200).optional().describe('Substring of the name, title or description'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().optional(),
  })
  .strict();

const RefQuery = z.object({ ref: z.string().min(1).describe('payments-api, group:payments, component:default/payments-api') }).strict();

function eq(key: string, value: string): EntityFilter {
  return { key, values: [value.toLowerCase()] };
}

/** idp's own catalog endpoints (the CLI and portal): paged lists, graph views, teams. */
export async function catalogRoutes(app: TypedApp, s: Services): Promise<void> {
  const catalog = s.catalog;

  app.get('/api/catalog/idp/locations', {
    schema: { summary: 'List catalog locations', tags, response: { 200: z.object({ items: z.array(CatalogLocation) }), ...errorResponses } },
  }, async () => ({ items: await catalog.listLocations() }));

  app.post('/api/catalog/idp/locations', {
    schema: { summary: 'Register a location (file, folder, URL or git repository) and read it', tags, body: RegisterLocationRequest, response: { 201: RefreshResult, 200: RefreshResult, ...errorResponses } },
  }, async (req, reply) => {
    const { result } = await catalog.register(req.ctx, req.body);
    return reply.code(req.body.dryRun ? 200 : 201).send(result);
  });

  app.post('/api/catalog/idp/locations/:id/refresh', {
    schema: { summary: 'Read one location again now', tags, params: z.object({ id: z.string().min(1) }), response: { 200: RefreshResult, ...errorResponses } },
  }, async (req) => catalog.refreshLocation(req.ctx, req.params.id));

  app.put('/api/catalog/idp/locations/:id/identity-source', {
    schema: {
      summary: 'Mark or unmark a location as an identity source (platform admins): its Users and Groups make the directory only when marked',
      tags, params: z.object({ id: z.string().min(1) }), body: z.object({ identitySource: z.boolean() }).strict(), response: { 200: RefreshResult, ...errorResponses },
    },
  }, async (req) => catalog.setIdentitySource(req.ctx, req.params.id, req.body.identitySource));

  app.post('/api/catalog/idp/refresh', {
    schema: { summary: 'Read every location again now', tags, response: { 200: z.object({ items: z.array(RefreshResult) }), ...errorResponses } },
  }, async (req) => ({ items: await catalog.refreshAll(req.ctx) }));

  app.delete('/api/catalog/idp/locations/:id', {
    schema: { summary: 'Unregister a location and remove its entities', tags, params: z.object({ id: z.string().min(1) }), response: { 204: z.null(), ...errorResponses } },
  }, async (req, reply) => {
    await catalog.deleteLocation(req.ctx, req.params.id);
    return reply.code(204).send(null);
  });

  app.get('/api/catalog/idp/errors', {
    schema: { summary: 'Problems met while reading locations (YAML errors, invalid entities, conflicts)', tags, querystring: z.object({ location: z.string().optional() }).strict(), response: { 200: z.object({ items: z.array(CatalogError) }), ...errorResponses } },
  }, async (req) => ({ items: await catalog.errors(req.query.location) }));

  app.get('/api/catalog/idp/entities', {
    schema: { summary: 'List entities, filtered and paged on the server', tags, querystring: EntityListQuery, response: { 200: z.object({ items: z.array(CatalogEntity), totalItems: z.number().int(), nextCursor: z.string().nullable() }), ...errorResponses } },
  }, async (req) => {
    const q = req.query;
    let filter: EntityFilter | undefined;
    if (!q.cursor) {
      const ownerRef = q.owner ? normalizeRef(q.owner, 'group') : undefined;
      if (q.owner && !ownerRef) throw new IdpError('INVALID_REF', `owner "${q.owner}" is not a group reference`, { field: 'owner' });
      filter = andFilters(
        q.kind ? eq('kind', q.kind) : undefined,
        q.type ? eq('spec.type', q.type) : undefined,
        ownerRef ? eq('relations.ownedby', ownerRef) : undefined,
      );
    }
    try {
      const page = await catalog.queries.query(
        { filter, byRef: true, fullText: q.q ? { term: q.q, fields: ['metadata.name', 'metadata.title', 'metadata.description'] } : undefined },
        q.cursor,
        q.limit,
      );
      return {
        items: page.items.map((i) => (typeof i === 'string' ? JSON.parse(i) : i)),
        totalItems: page.totalItems,
        nextCursor: page.nextCursor ?? null,
      };
    } catch (err) {
      if (err instanceof FilterInputError) throw new IdpError('VALIDATION_FAILED', err.message, { field: 'cursor' });
      throw err;
    }
  });

  app.get('/api/catalog/idp/entity', {
    schema: { summary: 'One entity by ref (short forms accepted)', tags, querystring: RefQuery, response: { 200: CatalogEntity, ...errorResponses } },
  }, async (req) => {
    const ref = await catalog.resolveRef(req.query.ref);
    return JSON.parse((await catalog.queries.byRef(ref))!);
  });

  app.get('/api/catalog/idp/deps', {
    schema: {
      summary: 'What an entity depends on, as a tree (cycles marked)',
      tags,
      querystring: RefQuery.extend({ depth: z.coerce.number().int().min(1).max(10).default(3) }),
      response: { 200: DependencyTree, ...errorResponses },
    },
  }, async (req) => catalog.dependencies(req.query.ref, req.query.depth));

  app.get('/api/catalog/idp/impact', {
    schema: { summary: 'Every transitive dependent of an entity, with owners and on-call contacts', tags, querystring: RefQuery, response: { 200: ImpactReport, ...errorResponses } },
  }, async (req, reply) =>
    // Impact reports on hub services run to thousands of entries; they are built from typed data,
    // so they skip the per-response schema check that would dominate their cost.
    reply.type('application/json').send(JSON.stringify(await catalog.impact(req.query.ref)) as never));

  app.get('/api/catalog/idp/oncall', {
    schema: { summary: 'Who to page for an entity, and the route taken to find out', tags, querystring: RefQuery, response: { 200: OnCallContact, ...errorResponses } },
  }, async (req) => catalog.oncall(req.query.ref));

  app.get('/api/teams', {
    schema: { summary: 'List teams (Group entities)', tags: ['teams'], response: { 200: z.object({ items: z.array(TeamSummary) }), ...errorResponses } },
  }, async () => ({ items: await catalog.teams() }));

  app.get('/api/teams/:name', {
    schema: { summary: 'A team: members, owned entities, on-call', tags: ['teams'], params: z.object({ name: z.string().min(1) }), response: { 200: Team, ...errorResponses } },
  }, async (req) => catalog.team(req.params.name));
}

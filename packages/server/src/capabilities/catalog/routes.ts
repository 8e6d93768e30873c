import { z } from 'zod';
import {
  CatalogEntity,
  CatalogEntityPage,
  CatalogErrorList,
  CatalogErrorQuery,
  CatalogLocationList,
  DependencyQuery,
  DependencyTree,
  EntityListQuery,
  EntityRefQuery,
  ImpactQuery,
  IdpError,
  ImpactReport,
  LocationIdParams,
  OnCallContact,
  RefreshResult,
  RefreshResultList,
  RegisterLocationRequest,
  SetIdentitySourceRequest,
  Team,
  TeamList,
  TeamNameParams,
} from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import { andFilters, FilterInputError, type EntityFilter } from './filters.ts';
import type { CatalogService } from './service.ts';
import { normalizeRef } from './util.ts';

const tags = ['catalog'];

function eq(key: string, value: string): EntityFilter {
  return { key, values: [value.toLowerCase()] };
}

/** idp's own catalog endpoints (the CLI and portal), under /api/catalog/idp: paged lists, graph views. */
export const catalogRoutes: RoutesPlugin<{ catalog: CatalogService }> = async (app, { catalog }) => {
  app.get(
    '/locations',
    {
      schema: {
        summary: 'List catalog locations',
        operationId: 'listLocations',
        tags,
        response: { 200: CatalogLocationList, ...errorResponses },
      },
    },
    async () => ({ items: await catalog.listLocations() }),
  );

  app.post(
    '/locations',
    {
      schema: {
        summary: 'Register a location (file, folder, URL or git repository) and read it',
        operationId: 'registerLocation',
        tags,
        body: RegisterLocationRequest,
        response: { 201: RefreshResult, 200: RefreshResult, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { result } = await catalog.register(req.ctx, { ...req.body, withoutEntities: true });
      return reply.code(req.body.dryRun ? 200 : 201).send(result);
    },
  );

  app.post(
    '/locations/:id/refresh',
    {
      schema: {
        summary: 'Read one location again now',
        operationId: 'refreshLocation',
        tags,
        params: LocationIdParams,
        response: { 200: RefreshResult, ...errorResponses },
      },
    },
    async (req) => catalog.refreshLocation(req.ctx, req.params.id),
  );

  app.put(
    '/locations/:id/identity-source',
    {
      schema: {
        summary:
          'Mark or unmark a location as an identity source (platform admins): its Users and Groups make the directory only when marked',
        operationId: 'setLocationIdentitySource',
        tags,
        params: LocationIdParams,
        body: SetIdentitySourceRequest,
        response: { 200: RefreshResult, ...errorResponses },
      },
    },
    async (req) => catalog.setIdentitySource(req.ctx, req.params.id, req.body.identitySource),
  );

  app.post(
    '/refresh',
    {
      schema: {
        summary: 'Read every location again now',
        operationId: 'refreshAllLocations',
        tags,
        response: { 200: RefreshResultList, ...errorResponses },
      },
    },
    async (req) => ({ items: await catalog.refreshAll(req.ctx) }),
  );

  app.delete(
    '/locations/:id',
    {
      schema: {
        summary: 'Unregister a location and remove its entities',
        operationId: 'deleteLocation',
        tags,
        params: LocationIdParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      await catalog.deleteLocation(req.ctx, req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/errors',
    {
      schema: {
        summary: 'Problems met while reading locations (YAML errors, invalid entities, conflicts)',
        operationId: 'listCatalogErrors',
        tags,
        querystring: CatalogErrorQuery,
        response: { 200: CatalogErrorList, ...errorResponses },
      },
    },
    async (req) => ({ items: await catalog.errors(req.query.location) }),
  );

  app.get(
    '/entities',
    {
      schema: {
        summary: 'List entities, filtered and paged on the server',
        operationId: 'listEntities',
        tags,
        querystring: EntityListQuery,
        response: { 200: CatalogEntityPage, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      let filter: EntityFilter | undefined;
      if (!q.cursor) {
        const ownerRef = q.owner ? normalizeRef(q.owner, 'group') : undefined;
        if (q.owner && !ownerRef)
          throw new IdpError('INVALID_REF', `owner "${q.owner}" is not a group reference`, { field: 'owner' });
        filter = andFilters(
          q.kind ? eq('kind', q.kind) : undefined,
          q.type ? eq('spec.type', q.type) : undefined,
          ownerRef ? eq('relations.ownedby', ownerRef) : undefined,
        );
      }
      try {
        const page = await catalog.queries.query(
          {
            filter,
            byRef: true,
            fullText: q.q
              ? { term: q.q, fields: ['metadata.name', 'metadata.title', 'metadata.description'] }
              : undefined,
          },
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
    },
  );

  app.get(
    '/entity',
    {
      schema: {
        summary: 'One entity by ref (short forms accepted)',
        operationId: 'getEntity',
        tags,
        querystring: EntityRefQuery,
        response: { 200: CatalogEntity, ...errorResponses },
      },
    },
    async (req) => {
      const ref = await catalog.resolveRef(req.query.ref);
      return JSON.parse((await catalog.queries.byRef(ref))!);
    },
  );

  app.get(
    '/deps',
    {
      schema: {
        summary: 'What an entity depends on, as a tree (cycles marked)',
        operationId: 'entityDependencies',
        tags,
        querystring: DependencyQuery,
        response: { 200: DependencyTree, ...errorResponses },
      },
    },
    async (req) => catalog.dependencies(req.query.ref, req.query.depth),
  );

  app.get(
    '/impact',
    {
      schema: {
        summary: 'Every transitive dependent of an entity, with owners and on-call contacts',
        description:
          'With `limit`, one page of the report (by depth then ref) and a `nextCursor` for the next; every team of the whole report is listed on each page, with its refs on that page and its `total`.',
        operationId: 'entityImpact',
        tags,
        querystring: ImpactQuery,
        response: { 200: ImpactReport, ...errorResponses },
      },
    },
    async (req, reply) =>
      // Impact reports on hub services run to thousands of entries; they are built from typed data,
      // so they skip the per-response schema check that would dominate their cost.
      reply
        .type('application/json')
        .send(
          JSON.stringify(
            await catalog.impact(req.query.ref, { limit: req.query.limit, cursor: req.query.cursor }),
          ) as never,
        ),
  );

  app.get(
    '/oncall',
    {
      schema: {
        summary: 'Who to page for an entity, and the route taken to find out',
        operationId: 'entityOnCall',
        tags,
        querystring: EntityRefQuery,
        response: { 200: OnCallContact, ...errorResponses },
      },
    },
    async (req) => catalog.oncall(req.query.ref),
  );
};

/** Teams (Group entities), under /api/teams. */
export const teamRoutes: RoutesPlugin<{ catalog: CatalogService }> = async (app, { catalog }) => {
  app.get(
    '',
    {
      schema: {
        summary: 'List teams (Group entities)',
        operationId: 'listTeams',
        tags: ['teams'],
        response: { 200: TeamList, ...errorResponses },
      },
    },
    async () => ({ items: await catalog.teams() }),
  );

  app.get(
    '/:name',
    {
      schema: {
        summary: 'A team: members, owned entities, on-call',
        operationId: 'getTeam',
        tags: ['teams'],
        params: TeamNameParams,
        response: { 200: Team, ...errorResponses },
      },
    },
    async (req) => catalog.team(req.params.name),
  );
};

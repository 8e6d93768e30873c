import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { IdpError } from '@idp/contracts';
import { toIdpError } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import { FilterInputError, parseFilterParams, parsePredicate, type EntityFilter } from './filters.ts';
import { DEFAULT_QUERY_LIMIT, type OrderField, type QueryPage, type QueryState } from './query.ts';
import { checkSingleEntity } from './read.ts';
import { parseFieldsParam, projectFields } from './search.ts';
import { locationNotFound, type CatalogService } from './service.ts';
import { normalizeRef } from './util.ts';

const tags = ['backstage-catalog'];

/** Backstage's error names by HTTP status, as @backstage/errors serialises them. */
const ERROR_NAMES: Record<number, string> = {
  400: 'InputError',
  401: 'AuthenticationError',
  403: 'NotAllowedError',
  404: 'NotFoundError',
  409: 'ConflictError',
  501: 'NotImplementedError',
};

function backstageError(req: FastifyRequest, reply: FastifyReply, err: unknown) {
  const e =
    err instanceof FilterInputError ? new IdpError('VALIDATION_FAILED', err.message) : toIdpError(err as FastifyError);
  const statusCode = e.code === 'CATALOG_LOCATION_EXISTS' ? 409 : e.status;
  return reply
    .code(statusCode)
    .type('application/json')
    .send({
      error: { name: ERROR_NAMES[statusCode] ?? 'Error', message: e.message, code: e.code },
      request: { method: req.method, url: req.url },
      response: { statusCode },
    });
}

function str(v: unknown): string | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' ? x : undefined;
}
function list(v: unknown): string[] {
  return v === undefined ? [] : [v].flat().map(String);
}
function int(v: unknown, name: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new FilterInputError(`Invalid ${name}, must be a non-negative integer`);
  return n;
}
function parseOrder(values: string[], sep: ':' | ','): OrderField[] {
  return values.map((v) => {
    const [a, b] =
      sep === ':'
        ? [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)]
        : [v.slice(0, v.lastIndexOf(',')), v.slice(v.lastIndexOf(',') + 1)];
    const [dir, field] = sep === ':' ? [a, b] : [b, a];
    if (!field || (dir !== 'asc' && dir !== 'desc')) throw new FilterInputError(`Invalid order field "${v}"`);
    return { field, order: dir };
  });
}

/** JSON texts straight from the store, joined without a parse/serialise round trip. */
function sendItems(reply: FastifyReply, items: (string | Record<string, unknown>)[], wrap?: (arr: string) => string) {
  const arr = `[${items.map((i) => (typeof i === 'string' ? i : JSON.stringify(i))).join(',')}]`;
  return reply.type('application/json').send(wrap ? wrap(arr) : arr);
}

function pageBody(page: QueryPage) {
  return (arr: string) =>
    `{"items":${arr},"totalItems":${page.totalItems},"pageInfo":${JSON.stringify({ ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}), ...(page.prevCursor ? { prevCursor: page.prevCursor } : {}) })}}`;
}

/**
 * Backstage's catalog REST API, as @backstage/catalog-client calls it: Backstage's paths, JSON
 * shapes and error bodies, under /api/catalog. It is an adapter over the same CatalogService as
 * idp's own routes, with its own error handler (this plugin's routes only).
 */
export const backstageCatalogRoutes: RoutesPlugin<{ catalog: CatalogService }> = async (app, { catalog }) => {
  app.setErrorHandler((err, req, reply) => backstageError(req, reply, err));

  app.get(
    '/entities',
    { schema: { operationId: 'backstageGetEntities', summary: 'Backstage: list entities', tags } },
    async (req, reply) => {
      const q = req.query as Record<string, unknown>;
      let limit = int(q.limit, 'limit');
      let offset = int(q.offset, 'offset') ?? 0;
      const after = str(q.after);
      if (after) {
        try {
          const parsed = JSON.parse(Buffer.from(after, 'base64').toString('utf8'));
          limit = parsed.limit;
          offset = parsed.offset ?? 0;
        } catch {
          throw new FilterInputError('Malformed after cursor');
        }
      }
      const filter = parseFilterParams(q.filter);
      const order = parseOrder(list(q.order), ':');
      const res = await catalog.queries.list(filter, order, limit, offset, parseFieldsParam(q.fields));
      if (res.hasMore && limit !== undefined) {
        const next = Buffer.from(JSON.stringify({ limit, offset: offset + limit })).toString('base64');
        const url = new URL(req.url, 'http://x');
        url.searchParams.delete('offset');
        url.searchParams.set('after', next);
        reply.header('link', `<${url.pathname}${url.search}>; rel="next"`);
      }
      return sendItems(reply, res.items);
    },
  );

  const byQuery = async (
    state: QueryState | undefined,
    cursor: string | undefined,
    limit: number | undefined,
    offset: number | undefined,
    fields: string[] | undefined,
    reply: FastifyReply,
  ) => {
    const page = await catalog.queries.query(state, cursor, limit ?? DEFAULT_QUERY_LIMIT, offset ?? 0, fields);
    return sendItems(reply, page.items, pageBody(page));
  };

  app.get(
    '/entities/by-query',
    {
      schema: {
        operationId: 'backstageGetEntitiesByQuery',
        summary: 'Backstage: query entities with cursor paging',
        tags,
      },
    },
    async (req, reply) => {
      const q = req.query as Record<string, unknown>;
      const cursor = str(q.cursor);
      const state: QueryState | undefined = cursor
        ? undefined
        : {
            filter: parseFilterParams(q.filter),
            orderField: parseOrder(list(q.orderField), ',')[0],
            fullText: str(q.fullTextFilterTerm)
              ? {
                  term: str(q.fullTextFilterTerm)!,
                  fields: str(q.fullTextFilterFields)
                    ?.split(',')
                    .map((f) => f.trim())
                    .filter(Boolean),
                }
              : undefined,
            skipTotal: str(q.totalItems) === 'exclude' || undefined,
          };
      return byQuery(
        state,
        cursor,
        int(q.limit, 'limit'),
        cursor ? 0 : int(q.offset, 'offset'),
        parseFieldsParam(q.fields),
        reply,
      );
    },
  );

  app.post(
    '/entities/by-query',
    {
      schema: {
        operationId: 'backstageQueryEntitiesByPredicate',
        summary: 'Backstage: query entities with a predicate',
        tags,
      },
    },
    async (req, reply) => {
      const b = (req.body ?? {}) as {
        cursor?: unknown;
        query?: unknown;
        orderBy?: { field?: unknown; order?: unknown }[];
        fullTextFilter?: { term?: unknown; fields?: string[] };
        totalItems?: unknown;
        fields?: unknown;
        limit?: unknown;
        offset?: unknown;
      };
      const cursor = typeof b.cursor === 'string' ? b.cursor : undefined;
      const state: QueryState | undefined = cursor
        ? undefined
        : {
            filter: b.query !== undefined ? parsePredicate(b.query) : undefined,
            query: b.query,
            orderField:
              Array.isArray(b.orderBy) && b.orderBy[0]
                ? { field: String(b.orderBy[0].field), order: b.orderBy[0].order === 'desc' ? 'desc' : 'asc' }
                : undefined,
            fullText: b.fullTextFilter?.term
              ? { term: String(b.fullTextFilter.term), fields: b.fullTextFilter.fields }
              : undefined,
            skipTotal: b.totalItems === 'exclude' || undefined,
          };
      const fields = Array.isArray(b.fields) ? b.fields.map(String) : undefined;
      return byQuery(
        state,
        cursor,
        typeof b.limit === 'number' ? b.limit : undefined,
        typeof b.offset === 'number' ? b.offset : undefined,
        fields,
        reply,
      );
    },
  );

  app.post(
    '/entities/by-refs',
    { schema: { operationId: 'backstageGetEntitiesByRefs', summary: 'Backstage: entities by ref, in order', tags } },
    async (req, reply) => {
      const b = (req.body ?? {}) as { entityRefs?: unknown; fields?: unknown };
      if (!Array.isArray(b.entityRefs)) throw new FilterInputError('entityRefs must be an array of strings');
      const refs = b.entityRefs.map((r) => (typeof r === 'string' ? normalizeRef(r) : undefined));
      const filter: EntityFilter | undefined = parseFilterParams((req.query as Record<string, unknown>).filter);
      const found = await catalog.queries.byRefs(refs, filter);
      const fields = Array.isArray(b.fields) ? b.fields.map(String) : undefined;
      const items = found.map((e) =>
        e === null ? 'null' : fields ? JSON.stringify(projectFields(JSON.parse(e), fields)) : e,
      );
      return sendItems(reply, items, (arr) => `{"items":${arr}}`);
    },
  );

  const notNamed = (p: { kind: string; namespace: string; name: string }) =>
    new IdpError('NOT_FOUND', `No entity named '${p.name}' found, with kind '${p.kind}' in namespace '${p.namespace}'`);
  const byName = async (p: { kind: string; namespace: string; name: string }) => {
    const row = await catalog.queries.rowByRef(`${p.kind}:${p.namespace}/${p.name}`.toLowerCase());
    if (!row) throw notNamed(p);
    return row;
  };

  app.get(
    '/entities/by-name/:kind/:namespace/:name',
    {
      schema: {
        operationId: 'backstageGetEntityByName',
        summary: 'Backstage: entity by kind, namespace and name',
        tags,
      },
    },
    async (req, reply) => {
      const p = req.params as { kind: string; namespace: string; name: string };
      const entity = await catalog.queries.byRef(`${p.kind}:${p.namespace}/${p.name}`.toLowerCase());
      if (entity === undefined) throw notNamed(p);
      return reply.type('application/json').send(entity);
    },
  );

  app.get(
    '/entities/by-name/:kind/:namespace/:name/ancestry',
    { schema: { operationId: 'backstageGetEntityAncestryByName', summary: 'Backstage: entity ancestry', tags } },
    async (req) => {
      const row = await byName(req.params as { kind: string; namespace: string; name: string });
      const entity = JSON.parse(row.entity);
      // Entities here come straight from a location, not from other entities: the location is the parent.
      return { rootEntityRef: row.ref, items: [{ entity, parentEntityRefs: [] }] };
    },
  );

  app.get(
    '/entities/by-uid/:uid',
    { schema: { operationId: 'backstageGetEntityByUid', summary: 'Backstage: entity by uid', tags } },
    async (req, reply) => {
      const row = await catalog.queries.byUid((req.params as { uid: string }).uid);
      if (!row) throw new IdpError('NOT_FOUND', `No entity with uid ${(req.params as { uid: string }).uid}`);
      return reply.type('application/json').send(row.entity);
    },
  );

  app.delete(
    '/entities/by-uid/:uid',
    {
      schema: {
        operationId: 'backstageDeleteEntityByUid',
        summary: 'Backstage: delete an entity (it returns at the next refresh of its location)',
        tags,
      },
    },
    async (req, reply) => {
      await catalog.deleteEntityByUid(req.ctx, (req.params as { uid: string }).uid);
      return reply.code(204).send();
    },
  );

  app.get(
    '/entity-facets',
    { schema: { operationId: 'backstageGetEntityFacets', summary: 'Backstage: facet counts', tags } },
    async (req) => {
      const q = req.query as Record<string, unknown>;
      return { facets: await catalog.queries.facets(list(q.facet), parseFilterParams(q.filter)) };
    },
  );

  app.post(
    '/refresh',
    {
      schema: {
        operationId: 'backstageRefreshEntity',
        summary: 'Backstage: refresh an entity (reads its location again)',
        tags,
      },
    },
    async (req, reply) => {
      const b = (req.body ?? {}) as { entityRef?: unknown };
      if (typeof b.entityRef !== 'string') throw new FilterInputError('entityRef is required');
      await catalog.refreshEntity(req.ctx, b.entityRef);
      return reply.code(200).send();
    },
  );

  app.post(
    '/validate-entity',
    { schema: { operationId: 'backstageValidateEntity', summary: 'Backstage: validate an entity', tags } },
    async (req, reply) => {
      const b = (req.body ?? {}) as { entity?: unknown; location?: unknown };
      if (typeof b.location !== 'string' || !b.entity)
        throw new FilterInputError('Malformed request: entity and location are required');
      const res = await checkSingleEntity(b.entity, b.location);
      if (res.ok) return reply.code(200).send();
      return reply.code(400).send({ errors: [{ name: 'InputError', message: res.message }] });
    },
  );

  const toBackstageLocation = (l: { id: string; type: string; target: string }) => ({
    id: l.id,
    type: l.type === 'file' ? 'file' : 'url',
    target: l.target,
  });

  app.post(
    '/locations',
    { schema: { operationId: 'backstageCreateLocation', summary: 'Backstage: register a location', tags } },
    async (req, reply) => {
      const b = (req.body ?? {}) as { type?: unknown; target?: unknown };
      const q = req.query as Record<string, unknown>;
      if (typeof b.target !== 'string' || typeof b.type !== 'string')
        throw new FilterInputError('type and target are required');
      // Backstage's `url` type covers git repositories served over http; ours tells them apart.
      const type = b.type === 'file' ? 'file' : undefined;
      const out = await catalog.register(req.ctx, {
        target: b.target,
        type,
        dryRun: str(q.dryRun) === 'true',
        refreshIfExists: str(q.onConflict) === 'refresh',
      });
      return reply.code(201).send({
        location: toBackstageLocation({ ...out.row }),
        entities: out.entities,
        ...(out.existed ? { exists: true } : {}),
      });
    },
  );

  app.get(
    '/locations',
    { schema: { operationId: 'backstageGetLocations', summary: 'Backstage: list locations', tags } },
    async () => (await catalog.listLocations()).map((l) => ({ data: toBackstageLocation(l) })),
  );

  app.get(
    '/locations/:id',
    { schema: { operationId: 'backstageGetLocation', summary: 'Backstage: one location', tags } },
    async (req) => toBackstageLocation(await catalog.getLocation((req.params as { id: string }).id)),
  );

  app.delete(
    '/locations/:id',
    { schema: { operationId: 'backstageDeleteLocation', summary: 'Backstage: unregister a location', tags } },
    async (req, reply) => {
      await catalog.deleteLocation(req.ctx, (req.params as { id: string }).id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/locations/by-entity/:kind/:namespace/:name',
    {
      schema: {
        operationId: 'backstageGetLocationByEntity',
        summary: 'Backstage: the location an entity came from',
        tags,
      },
    },
    async (req) => {
      const row = await byName(req.params as { kind: string; namespace: string; name: string });
      try {
        return toBackstageLocation(await catalog.getLocation(row.location_id));
      } catch {
        throw locationNotFound(row.location_id);
      }
    },
  );
};

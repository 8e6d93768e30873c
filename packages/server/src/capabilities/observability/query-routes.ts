import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorEnvelope, IdpError } from '@idp/contracts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { QueryEndpoint, QueryGate } from './query-gate.ts';

/**
 * Prometheus' HTTP API answer, passed through: `{status: 'success', data}` or
 * `{status: 'error', errorType, error}` (the gate's own refusals add idp's `code` and `hint`).
 */
const PrometheusAnswer = z
  .looseObject({
    status: z.enum(['success', 'error']),
    data: z.unknown().optional().describe('As Prometheus returns it (vector, matrix, series, label names or values)'),
    errorType: z.string().optional().describe('bad_data, execution, timeout, unavailable …'),
    error: z.string().optional(),
    code: z.string().optional().describe("idp's error code, when the gate refused the request itself"),
    hint: z.string().optional(),
    warnings: z.array(z.string()).optional(),
  })
  .meta({ id: 'PrometheusAnswer' });

// A refused token answers in idp's envelope (app.ts' preHandler), everything else in Prometheus' shape.
const failure = z.union([PrometheusAnswer, ErrorEnvelope]);
const responses = { 200: PrometheusAnswer, '4xx': failure, '5xx': failure } as const;

const ROUTES: Array<{ path: string; endpoint: string; id: string; summary: string }> = [
  { path: '/query', endpoint: 'query', id: 'Query', summary: 'An instant PromQL query over what the caller may read' },
  {
    path: '/query_range',
    endpoint: 'query_range',
    id: 'QueryRange',
    summary: 'A range PromQL query over what the caller may read (maxRange, maxPoints)',
  },
  {
    path: '/series',
    endpoint: 'series',
    id: 'Series',
    summary: 'Series matching match[] among what the caller may read',
  },
  { path: '/labels', endpoint: 'labels', id: 'Labels', summary: "Label names of the caller's series" },
];

/**
 * Under /api/observability: the PromQL query gate, in the Prometheus HTTP API's shape so Grafana
 * can use idp (<url>/api/observability/prometheus) as a Prometheus datasource with an idp token. Every query and match[] is scoped to
 * the caller (query-gate.ts); GET with a query string or POST with a form, as Prometheus takes.
 */
export const queryRoutes: RoutesPlugin<{ gate: QueryGate }> = async (app, { gate }) => {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8')));
  });

  const handle = async (req: FastifyRequest, reply: FastifyReply, endpoint: QueryEndpoint) => {
    try {
      const answer = await gate.answer(req.ctx.principal, endpoint, paramsOf(req));
      return reply
        .code(answer.status)
        .type('application/json')
        .send(answer.bytes ?? answer.body);
    } catch (err) {
      if (!(err instanceof IdpError)) throw err;
      const errorType = typeof err.details.errorType === 'string' ? err.details.errorType : 'bad_data';
      const body = { status: 'error', errorType, error: err.message, code: err.code, hint: err.hint };
      return reply.code(err.status).type('application/json').send(JSON.stringify(body));
    }
  };

  // Documented at /api/observability/<endpoint>; the same routes under /prometheus/api/v1/ too,
  // because a Prometheus client (Grafana's datasource) appends /api/v1/<endpoint> to its URL.
  for (const base of ['', '/prometheus/api/v1']) {
    const hide = base !== '';
    for (const route of ROUTES) {
      for (const method of ['GET', 'POST'] as const) {
        app.route({
          method,
          url: `${base}${route.path}`,
          schema: {
            summary: route.summary,
            tags: ['observability'],
            operationId: `observability${route.id}${method === 'POST' ? 'Post' : ''}`,
            response: responses,
            hide,
          },
          handler: (req, reply) => handle(req, reply, route.endpoint as QueryEndpoint),
        });
      }
    }
    app.get(
      `${base}/label/:name/values`,
      {
        schema: {
          summary: "Values of one label among the caller's series",
          tags: ['observability'],
          operationId: 'observabilityLabelValues',
          params: z.object({ name: z.string().describe('The label, e.g. team or service') }),
          response: responses,
          hide,
        },
      },
      (req, reply) => handle(req, reply, `label/${req.params.name}/values`),
    );
  }
};

/** The query string and, for a POST, the form: Prometheus reads both. */
function paramsOf(req: FastifyRequest): URLSearchParams {
  const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
  const params = new URLSearchParams(query);
  if (req.body instanceof URLSearchParams) {
    for (const [key, value] of req.body) params.append(key, value);
  }
  return params;
}

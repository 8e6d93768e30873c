import { z } from 'zod';
import {
  CreateEnvironmentRequest,
  Environment,
  EnvironmentConnection,
  EnvironmentList,
  EnvironmentListQuery,
  ExtendEnvironmentRequest,
} from '@idp/contracts';
import type { Services, TypedApp } from '../../app.ts';
import { errorResponses } from '../../http/errors.ts';

const tags = ['environments'];
const Params = z.object({ name: z.string().describe('Environment name, e.g. feature-payments') });

export async function environmentRoutes(app: TypedApp, s: Services): Promise<void> {
  app.post('/api/environments', {
    schema: {
      summary: 'Create an environment by cloning a base one (namespace, database, Redis keyspace, secrets); answers at once, the steps run in the background',
      tags, body: CreateEnvironmentRequest, response: { 202: Environment, ...errorResponses },
    },
  }, async (req, reply) => reply.code(202).send(await s.environments.create(req.ctx, req.body)));

  app.get('/api/environments', {
    schema: { summary: 'List environments: yours (scope=mine, default) or every one you may see (scope=all)', tags, querystring: EnvironmentListQuery, response: { 200: EnvironmentList, ...errorResponses } },
  }, async (req) => ({ items: await s.environments.list(req.ctx, req.query) }));

  app.get('/api/environments/:name', {
    schema: { summary: 'An environment with its resources, endpoints (no passwords) and steps; after deletion, the deleted record', tags, params: Params, response: { 200: Environment, ...errorResponses } },
  }, async (req) => s.environments.get(req.ctx, req.params.name));

  app.post('/api/environments/:name/extend', {
    schema: { summary: 'Set a new lifetime, counted from now', tags, params: Params, body: ExtendEnvironmentRequest, response: { 200: Environment, ...errorResponses } },
  }, async (req) => s.environments.extend(req.ctx, req.params.name, req.body.ttl));

  app.delete('/api/environments/:name', {
    schema: { summary: 'Delete an environment and everything it made; answers at once, the steps run in the background', tags, params: Params, response: { 202: Environment, ...errorResponses } },
  }, async (req, reply) => reply.code(202).send(await s.environments.delete(req.ctx, req.params.name)));

  app.post('/api/environments/:name/connect', {
    schema: { summary: 'Connection variables with credentials (DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX); audited', tags, params: Params, response: { 200: EnvironmentConnection, ...errorResponses } },
  }, async (req) => s.environments.connect(req.ctx, req.params.name));
}

import { z } from 'zod';
import {
  CreateEnvironmentRequest,
  Environment,
  EnvironmentConnection,
  EnvironmentList,
  EnvironmentListQuery,
  ExtendEnvironmentRequest,
} from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { EnvironmentService } from './service.ts';

const tags = ['environments'];
const Params = z.object({ name: z.string().describe('Environment name, e.g. feature-payments') });

/** Under /api/environments. */
export const environmentRoutes: RoutesPlugin<{ environments: EnvironmentService }> = async (app, { environments }) => {
  app.post(
    '',
    {
      schema: {
        summary:
          'Create an environment by cloning a base one (namespace, database, Redis keyspace, secrets); answers at once, the steps run in the background',
        operationId: 'createEnvironment',
        tags,
        body: CreateEnvironmentRequest,
        response: { 202: Environment, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(202).send(await environments.create(req.ctx, req.body)),
  );

  app.get(
    '',
    {
      schema: {
        summary: 'List environments: yours (scope=mine, default) or every one you may see (scope=all)',
        operationId: 'listEnvironments',
        tags,
        querystring: EnvironmentListQuery,
        response: { 200: EnvironmentList, ...errorResponses },
      },
    },
    async (req) => ({ items: await environments.list(req.ctx, req.query) }),
  );

  app.get(
    '/:name',
    {
      schema: {
        summary:
          'An environment with its resources, endpoints (no passwords) and steps; after deletion, the deleted record',
        operationId: 'getEnvironment',
        tags,
        params: Params,
        response: { 200: Environment, ...errorResponses },
      },
    },
    async (req) => environments.get(req.ctx, req.params.name),
  );

  app.post(
    '/:name/extend',
    {
      schema: {
        summary: 'Set a new lifetime, counted from now',
        operationId: 'extendEnvironment',
        tags,
        params: Params,
        body: ExtendEnvironmentRequest,
        response: { 200: Environment, ...errorResponses },
      },
    },
    async (req) => environments.extend(req.ctx, req.params.name, req.body.ttl),
  );

  app.delete(
    '/:name',
    {
      schema: {
        summary: 'Delete an environment and everything it made; answers at once, the steps run in the background',
        operationId: 'deleteEnvironment',
        tags,
        params: Params,
        response: { 202: Environment, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(202).send(await environments.delete(req.ctx, req.params.name)),
  );

  app.post(
    '/:name/connect',
    {
      schema: {
        summary: 'Connection variables with credentials (DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX); audited',
        operationId: 'connectEnvironment',
        tags,
        params: Params,
        response: { 200: EnvironmentConnection, ...errorResponses },
      },
    },
    async (req) => environments.connect(req.ctx, req.params.name),
  );
};

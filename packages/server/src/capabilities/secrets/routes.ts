import { z } from 'zod';
import {
  CreateWorkloadTokenRequest,
  IdpError,
  SecretList,
  SecretListQuery,
  SecretMeta,
  SecretValue,
  SecretVersionList,
  SetSecretRequest,
  WorkloadToken,
  WorkloadTokenInfo,
  WorkloadTokenList,
  WorkloadTokenListQuery,
} from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { SecretsService } from './service.ts';

const tags = ['secrets'];
const PathParams = z.object({
  env: z.string().describe('Environment, e.g. staging'),
  service: z.string().describe('Service (catalog Component), e.g. payments-api'),
  key: z.string().describe('KEY, e.g. STRIPE_KEY'),
});

const path = (p: { env: string; service: string; key: string }) => `${p.env}/${p.service}/${p.key}`;

/** idp's secrets API, under /api/secrets; the Vault-compatible reads are in vault-routes.ts. */
export const secretRoutes: RoutesPlugin<{ secrets: SecretsService }> = async (app, { secrets }) => {
  app.get(
    '',
    {
      schema: {
        summary: 'List secrets (names, versions, who changed them; never values) you may list',
        operationId: 'listSecrets',
        tags,
        querystring: SecretListQuery,
        response: { 200: SecretList, ...errorResponses },
      },
    },
    async (req) => ({ items: await secrets.list(req.ctx, req.query) }),
  );

  app.put(
    '/:env/:service/:key',
    {
      schema: {
        summary: 'Set a secret: stores a new encrypted version',
        operationId: 'setSecret',
        tags,
        params: PathParams,
        body: SetSecretRequest,
        response: { 200: SecretMeta, ...errorResponses },
      },
    },
    async (req) => secrets.set(req.ctx, path(req.params), req.body.value),
  );

  app.get(
    '/:env/:service/:key',
    {
      schema: {
        summary: 'Read a secret value (audited); production needs an active access grant',
        operationId: 'getSecret',
        tags,
        params: PathParams,
        querystring: z
          .object({
            version: z.coerce.number().int().min(1).optional().describe('An older version; default the current one'),
          })
          .strict(),
        response: { 200: SecretValue, ...errorResponses },
      },
    },
    async (req) => secrets.get(req.ctx, path(req.params), req.query.version),
  );

  app.delete(
    '/:env/:service/:key',
    {
      schema: {
        summary: 'Delete a secret (its versions are kept)',
        operationId: 'deleteSecret',
        tags,
        params: PathParams,
        response: { 200: SecretMeta, ...errorResponses },
      },
    },
    async (req) => secrets.delete(req.ctx, path(req.params)),
  );

  app.get(
    '/:env/:service/:key/versions',
    {
      schema: {
        summary: 'The versions of a secret: when and by whom (never values)',
        operationId: 'listSecretVersions',
        tags,
        params: PathParams,
        response: { 200: SecretVersionList, ...errorResponses },
      },
    },
    async (req) => secrets.versions(req.ctx, path(req.params)),
  );

  app.post(
    '/tokens',
    {
      schema: {
        summary: 'Issue a workload token for the Vault-compatible endpoint, scoped to one environment and service',
        operationId: 'createWorkloadToken',
        tags,
        body: CreateWorkloadTokenRequest,
        response: { 201: WorkloadToken, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await secrets.createToken(req.ctx, req.body)),
  );

  app.get(
    '/tokens',
    {
      schema: {
        summary: 'List workload tokens (never the tokens themselves): your own; platform admins see all',
        operationId: 'listWorkloadTokens',
        tags,
        querystring: WorkloadTokenListQuery,
        response: { 200: WorkloadTokenList, ...errorResponses },
      },
    },
    async (req) => ({ items: await secrets.tokens.list(req.ctx, req.query) }),
  );

  app.delete(
    '/tokens/:id',
    {
      schema: {
        summary:
          'Revoke a workload token (its creator or a platform admin); Vault reads with it are refused from now on',
        operationId: 'revokeWorkloadToken',
        tags,
        params: z.object({ id: z.string().describe('Workload token id, e.g. wtk_3fK9x2mQa1') }),
        response: { 200: WorkloadTokenInfo, ...errorResponses },
      },
    },
    async (req) => secrets.tokens.revoke(req.ctx, req.params.id),
  );

  // A path with too few or too many parts would otherwise be "no route": say what is wrong with it.
  const malformed = async (req: { params: unknown }) => {
    const rest = String((req.params as Record<string, unknown>)['*'] ?? '');
    throw new IdpError(
      'SECRET_PATH_INVALID',
      `"${rest.slice(0, 200)}" is not a secret path: it has ${rest.split('/').length} part(s) separated by "/", not 3`,
      {
        field: 'path',
        hint: 'Use <env>/<service>/<KEY>, e.g. staging/payments-api/STRIPE_KEY.',
      },
    );
  };
  for (const method of ['GET', 'PUT', 'DELETE'] as const) {
    app.route({ method, url: '/*', schema: { hide: true }, handler: malformed });
  }
};

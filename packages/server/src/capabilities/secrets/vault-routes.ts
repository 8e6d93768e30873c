import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { IdpError } from '@idp/contracts';
import type { RoutesPlugin } from '../../http/types.ts';
import { VaultError, type SecretsService } from './service.ts';

const VaultReadResponse = z.object({
  request_id: z.string(),
  lease_id: z.string(),
  renewable: z.boolean(),
  lease_duration: z.number().int(),
  data: z.object({
    data: z.record(z.string(), z.string()),
    metadata: z.object({
      created_time: z.string(),
      custom_metadata: z.null(),
      deletion_time: z.string(),
      destroyed: z.boolean(),
      version: z.number().int(),
    }),
  }),
  wrap_info: z.null(),
  warnings: z.null(),
  auth: z.null(),
});
const VaultErrors = z.object({ errors: z.array(z.string()) });

/**
 * HashiCorp Vault's KV v2 read (`GET /v1/secret/data/<env>/<service>`, X-Vault-Token), so
 * workloads read their secrets with any Vault client, unchanged. Authenticated by workload
 * tokens (`idp secret:token`), not idp API tokens, and answered in Vault's shapes, errors too.
 * Under /v1/secret/data.
 */
export const vaultRoutes: RoutesPlugin<{ secrets: SecretsService }> = async (app, { secrets }) => {
  app.get(
    '/:env/:service',
    {
      config: { public: true },
      schema: {
        summary:
          'Vault KV v2-compatible read of every secret of one environment and service (X-Vault-Token: a workload token)',
        operationId: 'vaultReadSecrets',
        tags: ['vault'],
        security: [],
        params: z.object({ env: z.string(), service: z.string() }),
        querystring: z.object({ version: z.string().optional() }),
        response: { 200: VaultReadResponse, '4xx': VaultErrors, '5xx': VaultErrors },
      },
    },
    async (req, reply) => {
      const header = req.headers['x-vault-token'];
      const token = typeof header === 'string' && header.trim() ? header.trim() : undefined;
      try {
        if (req.query.version !== undefined) {
          // Vault versions the whole env/service map; idp versions each key (idp secret:versions).
          throw new VaultError(400, [
            'reading an older version is not supported here; use `idp secret:get PATH --version N`',
          ]);
        }
        // No token, or one idp never issued: rate limited per client and collapsed in the audit log.
        const anonymous = async (code: 'UNAUTHENTICATED' | 'TOKEN_INVALID', why: string): Promise<never> => {
          const denied = await app.unauthenticated.deny(
            { ip: req.ip, method: req.method, route: '/v1/secret/data/:env/:service', requestId: req.id },
            new IdpError(code, why),
          );
          if (denied.retryAfterSeconds === undefined) throw new VaultError(403, ['permission denied']);
          reply.header('retry-after', String(denied.retryAfterSeconds));
          throw new VaultError(429, [
            `rate limited: too many requests without a valid token; retry in ${denied.retryAfterSeconds}s`,
          ]);
        };
        const secret = await secrets.vaultRead(token, req.params.env, req.params.service, req.id, anonymous);
        return reply.code(200).send({
          request_id: randomUUID(),
          lease_id: '',
          renewable: false,
          lease_duration: 0,
          data: secret,
          wrap_info: null,
          warnings: null,
          auth: null,
        });
      } catch (err) {
        if (err instanceof VaultError) return reply.code(err.status).send({ errors: err.errors });
        throw err;
      }
    },
  );

  // Any other depth under the mount: Vault answers 404 with no errors for a path it has nothing at.
  app.get('/*', { config: { public: true }, schema: { hide: true } }, async (_req, reply) =>
    reply.code(404).send({ errors: [] }),
  );
};

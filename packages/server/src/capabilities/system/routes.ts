import { sql } from 'kysely';
import { z } from 'zod';
import { Health, Readiness } from '@idp/contracts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Store } from '../../store/index.ts';

/** At the root: health, readiness and the OpenAPI document, all public. */
export const systemRoutes: RoutesPlugin<{ store: Store; gate: PolicyGate }> = async (app, { store, gate }) => {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness: the process answers',
        operationId: 'health',
        tags: ['system'],
        security: [],
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        summary: 'Readiness: the state store answers',
        operationId: 'readiness',
        tags: ['system'],
        security: [],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_req, reply) => {
      const checks: z.infer<typeof Readiness>['checks'] = {};
      try {
        await sql`select 1`.execute(store.db);
        // Public, so it names no path or host (where the data dir is helps an attacker; `idp server` prints it at start).
        checks.store = { ok: true, message: `${store.dialect} answers` };
      } catch {
        checks.store = { ok: false, message: `${store.dialect} does not answer` };
      }
      checks.policies = { ok: true, message: `${gate.engine.policyIds.length} policies loaded` };
      const ready = Object.values(checks).every((c) => c.ok);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );

  app.get(
    '/openapi.json',
    {
      config: { public: true },
      schema: { hide: true },
    },
    async () => app.swagger(),
  );
};

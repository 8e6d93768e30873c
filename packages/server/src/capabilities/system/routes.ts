import { sql } from 'kysely';
import { z } from 'zod';
import { Health, Readiness } from '@idp/contracts';
import type { Services, TypedApp } from '../../app.ts';

export async function systemRoutes(app: TypedApp, s: Services): Promise<void> {
  app.get('/healthz', {
    config: { public: true },
    schema: { summary: 'Liveness: the process answers', tags: ['system'], security: [], response: { 200: Health } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: { public: true },
    schema: { summary: 'Readiness: the state store answers', tags: ['system'], security: [], response: { 200: Readiness, 503: Readiness } },
  }, async (_req, reply) => {
    const checks: z.infer<typeof Readiness>['checks'] = {};
    try {
      await sql`select 1`.execute(s.store.db);
      // Public, so it names no path or host (where the data dir is helps an attacker; `idp server` prints it at start).
      checks.store = { ok: true, message: `${s.store.dialect} answers` };
    } catch {
      checks.store = { ok: false, message: `${s.store.dialect} does not answer` };
    }
    checks.policies = { ok: true, message: `${s.gate.engine.policyIds.length} policies loaded` };
    const ready = Object.values(checks).every((c) => c.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  app.get('/openapi.json', {
    config: { public: true },
    schema: { hide: true },
  }, async () => app.swagger());
}

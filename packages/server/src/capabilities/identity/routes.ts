import { Principal } from '@idp/contracts';
import type { Services, TypedApp } from '../../app.ts';
import { errorResponses } from '../../http/errors.ts';

export async function identityRoutes(app: TypedApp, _s: Services): Promise<void> {
  app.get('/api/whoami', {
    schema: {
      summary: 'The caller: user, teams and roles',
      tags: ['identity'],
      response: { 200: Principal, ...errorResponses },
    },
  }, async (req) => req.ctx.principal);
}

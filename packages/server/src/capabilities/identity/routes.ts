import { ErrorEnvelope, Principal } from '@idp/contracts';
import type { Services, TypedApp } from '../../app.ts';

export async function identityRoutes(app: TypedApp, _s: Services): Promise<void> {
  app.get('/api/whoami', {
    schema: {
      summary: 'The caller: user, teams and roles',
      tags: ['identity'],
      response: { 200: Principal, '4xx': ErrorEnvelope },
    },
  }, async (req) => req.ctx.principal);
}

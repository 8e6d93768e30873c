import { Principal } from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';

/** Under /api: who the caller is (the principal the auth hook resolved; no service needed). */
export const identityRoutes: RoutesPlugin = async (app) => {
  app.get(
    '/whoami',
    {
      schema: {
        summary: 'The caller: user, teams and roles',
        operationId: 'whoami',
        tags: ['identity'],
        response: { 200: Principal, ...errorResponses },
      },
    },
    async (req) => req.ctx.principal,
  );
};

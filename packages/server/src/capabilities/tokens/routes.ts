import { z } from 'zod';
import { CreatedToken, CreateTokenRequest, Token, TokenList } from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { TokenService } from './service.ts';

/** Under /api/tokens. */
export const tokenRoutes: RoutesPlugin<{ tokens: TokenService }> = async (app, { tokens }) => {
  app.post(
    '',
    {
      schema: {
        summary: 'Create an API token for a user (platform admins)',
        operationId: 'createToken',
        tags: ['tokens'],
        body: CreateTokenRequest,
        response: { 201: CreatedToken, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await tokens.create(req.ctx, req.body)),
  );

  app.get(
    '',
    {
      schema: {
        summary: 'List API tokens (admins: all; others: their own)',
        operationId: 'listTokens',
        tags: ['tokens'],
        response: { 200: TokenList, ...errorResponses },
      },
    },
    async (req) => ({ items: await tokens.list(req.ctx) }),
  );

  app.delete(
    '/:id',
    {
      schema: {
        summary: 'Revoke an API token',
        operationId: 'revokeToken',
        tags: ['tokens'],
        params: z.object({ id: z.string().min(1).max(64) }),
        response: { 200: Token, ...errorResponses },
      },
    },
    async (req) => tokens.revoke(req.ctx, req.params.id),
  );
};

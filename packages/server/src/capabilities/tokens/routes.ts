import { z } from 'zod';
import { CreatedToken, CreateTokenRequest, Token, TokenList } from '@idp/contracts';
import type { Services, TypedApp } from '../../app.ts';
import { errorResponses } from '../../http/errors.ts';

export async function tokenRoutes(app: TypedApp, s: Services): Promise<void> {
  app.post('/api/tokens', {
    schema: {
      summary: 'Create an API token for a user (platform admins)',
      tags: ['tokens'],
      body: CreateTokenRequest,
      response: { 201: CreatedToken, ...errorResponses },
    },
  }, async (req, reply) => reply.code(201).send(await s.tokens.create(req.ctx, req.body)));

  app.get('/api/tokens', {
    schema: {
      summary: 'List API tokens (admins: all; others: their own)',
      tags: ['tokens'],
      response: { 200: TokenList, ...errorResponses },
    },
  }, async (req) => ({ items: await s.tokens.list(req.ctx) }));

  app.delete('/api/tokens/:id', {
    schema: {
      summary: 'Revoke an API token',
      tags: ['tokens'],
      params: z.object({ id: z.string().min(1).max(64) }),
      response: { 200: Token, ...errorResponses },
    },
  }, async (req) => s.tokens.revoke(req.ctx, req.params.id));
}

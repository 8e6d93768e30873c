import { z } from 'zod';
import { Preview, PreviewList } from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { PreviewQueries } from './listing.ts';

const tags = ['previews'];
const SEGMENT = /^[A-Za-z0-9_.-]{1,100}$/;

/** A pull request is addressed as /:owner/:name/:number (the repository as GitHub spells it, two segments). */
const Params = z.object({
  owner: z.string().regex(SEGMENT).describe('The repository owner, e.g. acme'),
  name: z.string().regex(SEGMENT).describe('The repository name, e.g. payments'),
  number: z.coerce.number().int().min(1).max(2_147_483_647).describe('The pull request number'),
});
const ListQuery = z.object({
  repo: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/)
    .optional()
    .describe('Only this repository (owner/name)'),
});

/** Under /api/previews. */
export const previewRoutes: RoutesPlugin<{ previews: PreviewQueries }> = async (app, { previews }) => {
  app.get(
    '',
    {
      schema: {
        summary: 'Previews of pull requests you may see (your teams’, or all for admins), newest pull requests first',
        operationId: 'listPreviews',
        tags,
        querystring: ListQuery,
        response: { 200: PreviewList, ...errorResponses },
      },
    },
    async (req) => ({ items: await previews.list(req.ctx, req.query.repo) }),
  );

  app.get(
    '/:owner/:name/:number',
    {
      schema: {
        summary: 'A preview: its environment, services with URLs, the commit deployed and the events received',
        operationId: 'getPreview',
        tags,
        params: Params,
        response: { 200: Preview, ...errorResponses },
      },
    },
    async (req) => previews.get(req.ctx, `${req.params.owner}/${req.params.name}`, req.params.number),
  );

  app.post(
    '/:owner/:name/:number/redeploy',
    {
      schema: {
        summary: 'Deploy the pull request’s head commit again (queued with its GitHub events; answers at once)',
        operationId: 'redeployPreview',
        tags,
        params: Params,
        response: { 202: Preview, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply
        .code(202)
        .send(await previews.redeploy(req.ctx, `${req.params.owner}/${req.params.name}`, req.params.number)),
  );

  app.delete(
    '/:owner/:name/:number',
    {
      schema: {
        summary: 'Tear the preview down (environment, database, Redis, secrets, processes); answers at once',
        operationId: 'deletePreview',
        tags,
        params: Params,
        response: { 202: Preview, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.code(202).send(await previews.delete(req.ctx, `${req.params.owner}/${req.params.name}`, req.params.number)),
  );
};

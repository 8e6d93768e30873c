import { z } from 'zod';
import {
  AccessListQuery,
  AccessRequest,
  AccessRequestList,
  AccessStats,
  AccessStatsQuery,
  ApproveAccessRequest,
  CreateAccessRequest,
  DenyAccessRequest,
  RevokeAccessRequest,
} from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { AccessService } from './service.ts';

const tags = ['access'];
const IdParams = z.object({ id: z.string().min(1).max(64) });

/** Under /api/access. */
export const accessRoutes: RoutesPlugin<{ access: AccessService }> = async (app, { access }) => {
  app.post(
    '/requests',
    {
      schema: {
        summary:
          'Ask for time-boxed read access to a secret or pattern; the owning team is approved at once by rule, others wait for an approver',
        operationId: 'createAccessRequest',
        tags,
        body: CreateAccessRequest,
        response: { 201: AccessRequest, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await access.request(req.ctx, req.body)),
  );

  app.get(
    '/requests',
    {
      schema: {
        summary: 'Access requests you made or may decide',
        operationId: 'listAccessRequests',
        tags,
        querystring: AccessListQuery,
        response: { 200: AccessRequestList, ...errorResponses },
      },
    },
    async (req) => ({ items: await access.list(req.ctx, req.query) }),
  );

  app.get(
    '/requests/:id',
    {
      schema: {
        summary: 'One access request',
        operationId: 'getAccessRequest',
        tags,
        params: IdParams,
        response: { 200: AccessRequest, ...errorResponses },
      },
    },
    async (req) => access.get(req.ctx, req.params.id),
  );

  app.post(
    '/requests/:id/approve',
    {
      schema: {
        summary: 'Approve a pending request (the owning team or platform admins; never your own)',
        operationId: 'approveAccessRequest',
        tags,
        params: IdParams,
        body: ApproveAccessRequest.optional(),
        response: { 200: AccessRequest, ...errorResponses },
      },
    },
    async (req) => access.approve(req.ctx, req.params.id, req.body ?? {}),
  );

  app.post(
    '/requests/:id/deny',
    {
      schema: {
        summary: 'Deny a pending request, with a reason',
        operationId: 'denyAccessRequest',
        tags,
        params: IdParams,
        body: DenyAccessRequest,
        response: { 200: AccessRequest, ...errorResponses },
      },
    },
    async (req) => access.deny(req.ctx, req.params.id, req.body),
  );

  app.post(
    '/requests/:id/revoke',
    {
      schema: {
        summary: 'End an active grant early, or withdraw a pending request',
        operationId: 'revokeAccessRequest',
        tags,
        params: IdParams,
        body: RevokeAccessRequest.optional(),
        response: { 200: AccessRequest, ...errorResponses },
      },
    },
    async (req) => access.revoke(req.ctx, req.params.id, req.body ?? {}),
  );

  app.get(
    '/stats',
    {
      schema: {
        summary: 'Requests by outcome, the auto-approved share and time to decision (over the requests you can see)',
        operationId: 'accessStats',
        tags,
        querystring: AccessStatsQuery,
        response: { 200: AccessStats, ...errorResponses },
      },
    },
    async (req) => access.stats(req.ctx, req.query.since),
  );
};

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
import type { Services, TypedApp } from '../../app.ts';
import { errorResponses } from '../../http/errors.ts';

const tags = ['access'];
const IdParams = z.object({ id: z.string().min(1).max(64) });

export async function accessRoutes(app: TypedApp, s: Services): Promise<void> {
  app.post('/api/access/requests', {
    schema: {
      summary: 'Ask for time-boxed read access to a secret or pattern; the owning team is approved at once by rule, others wait for an approver',
      tags, body: CreateAccessRequest, response: { 201: AccessRequest, ...errorResponses },
    },
  }, async (req, reply) => reply.code(201).send(await s.access.request(req.ctx, req.body)));

  app.get('/api/access/requests', {
    schema: { summary: 'Access requests you made or may decide', tags, querystring: AccessListQuery, response: { 200: AccessRequestList, ...errorResponses } },
  }, async (req) => ({ items: await s.access.list(req.ctx, req.query) }));

  app.get('/api/access/requests/:id', {
    schema: { summary: 'One access request', tags, params: IdParams, response: { 200: AccessRequest, ...errorResponses } },
  }, async (req) => s.access.get(req.ctx, req.params.id));

  app.post('/api/access/requests/:id/approve', {
    schema: { summary: 'Approve a pending request (the owning team or platform admins; never your own)', tags, params: IdParams, body: ApproveAccessRequest.optional(), response: { 200: AccessRequest, ...errorResponses } },
  }, async (req) => s.access.approve(req.ctx, req.params.id, req.body ?? {}));

  app.post('/api/access/requests/:id/deny', {
    schema: { summary: 'Deny a pending request, with a reason', tags, params: IdParams, body: DenyAccessRequest, response: { 200: AccessRequest, ...errorResponses } },
  }, async (req) => s.access.deny(req.ctx, req.params.id, req.body));

  app.post('/api/access/requests/:id/revoke', {
    schema: { summary: 'End an active grant early, or withdraw a pending request', tags, params: IdParams, body: RevokeAccessRequest.optional(), response: { 200: AccessRequest, ...errorResponses } },
  }, async (req) => s.access.revoke(req.ctx, req.params.id, req.body ?? {}));

  app.get('/api/access/stats', {
    schema: { summary: 'Requests by outcome, the auto-approved share and time to decision (over the requests you can see)', tags, querystring: AccessStatsQuery, response: { 200: AccessStats, ...errorResponses } },
  }, async (req) => s.access.stats(req.ctx, req.query.since));
}

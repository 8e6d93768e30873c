import { Readable } from 'node:stream';
import { z } from 'zod';
import { CreateDeploymentRequest, Deployment, DeploymentList, DeploymentListQuery, Release, RollbackRequest } from '@idp/contracts';
import type { Services, TypedApp } from '../../app.ts';
import { errorResponses } from '../../http/errors.ts';

const tags = ['deployments'];
const Id = z.object({ id: z.string() });

export async function deploymentRoutes(app: TypedApp, s: Services): Promise<void> {
  // A release is the raw `git archive --format=tar` of the service directory. The body is handed
  // over unread: the upload is authorized first, then streamed to disk (never buffered).
  app.addContentTypeParser(['application/x-tar', 'application/gzip', 'application/x-gzip'], (_req, payload, done) => done(null, payload));

  app.post('/api/releases', {
    schema: {
      summary: 'Upload a release: the tar of a service directory at a commit (content-addressed; its build runs once). Authorized (the service, and `env` when given) before the body is read; streamed, with size and entry limits',
      tags, querystring: z.object({ service: z.string(), commit: z.string(), env: z.string().optional() }).strict(),
      response: { 200: Release, 201: Release, ...errorResponses },
    },
  }, async (req, reply) => {
    const body = req.body instanceof Readable ? req.body : Readable.from([]);
    const length = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    const { release, created } = await s.deployments.releases.upload(req.ctx, { ...req.query, contentLength: Number.isFinite(length) ? length : undefined }, body);
    return reply.code(created ? 201 : 200).send(release);
  });

  app.post('/api/deployments', {
    schema: { summary: 'Roll a release out into an environment (answers at once; the rollout runs in the control plane)', tags, body: CreateDeploymentRequest, response: { 202: Deployment, ...errorResponses } },
  }, async (req, reply) => reply.code(202).send(await s.deployments.service.create(req.ctx, req.body)));

  app.post('/api/deployments/rollback', {
    schema: { summary: 'Return a service to an earlier healthy version (straight to 100% once healthy)', tags, body: RollbackRequest, response: { 202: Deployment, ...errorResponses } },
  }, async (req, reply) => reply.code(202).send(await s.deployments.service.rollback(req.ctx, req.body)));

  app.get('/api/deployments', {
    schema: { summary: 'Deployments you may read (deploy:read), newest first', tags, querystring: DeploymentListQuery, response: { 200: DeploymentList, ...errorResponses } },
  }, async (req) => ({ items: await s.deployments.service.list(req.ctx, req.query) }));

  app.get('/api/deployments/:id', {
    schema: { summary: 'A deployment: status, step, weight, per-step health and error-rate figures', tags, params: Id, response: { 200: Deployment, ...errorResponses } },
  }, async (req) => s.deployments.service.get(req.ctx, req.params.id));

  app.post('/api/deployments/:id/promote', {
    schema: { summary: 'End the current canary step (the next step starts, or the release is promoted)', tags, params: Id, response: { 200: Deployment, ...errorResponses } },
  }, async (req) => s.deployments.service.command(req.ctx, req.params.id, 'promote'));

  app.post('/api/deployments/:id/abort', {
    schema: { summary: 'Abort a rollout: all traffic back to stable, the canary stopped', tags, params: Id, response: { 200: Deployment, ...errorResponses } },
  }, async (req) => s.deployments.service.command(req.ctx, req.params.id, 'abort'));
}

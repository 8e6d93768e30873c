import { z } from 'zod';
import { CreateDeploymentRequest, Deployment, DeploymentList, DeploymentListQuery, Release, RollbackRequest } from '@idp/contracts';
import type { Services, TypedApp } from '../../app.ts';
import { errorResponses } from '../../http/errors.ts';

const tags = ['deployments'];
const Id = z.object({ id: z.string() });
const MAX_RELEASE_BYTES = 200 * 1024 * 1024;

export async function deploymentRoutes(app: TypedApp, s: Services): Promise<void> {
  // A release is the raw `git archive --format=tar` of the service directory.
  app.addContentTypeParser('application/x-tar', { parseAs: 'buffer', bodyLimit: MAX_RELEASE_BYTES }, (_req, body, done) => done(null, body));

  app.post('/api/releases', {
    bodyLimit: MAX_RELEASE_BYTES,
    schema: {
      summary: 'Upload a release: the tar of a service directory at a commit (content-addressed; its build runs once)',
      tags, querystring: z.object({ service: z.string(), commit: z.string() }).strict(),
      response: { 200: Release, 201: Release, ...errorResponses },
    },
  }, async (req, reply) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const { release, created } = await s.deployments.releases.upload(req.ctx, req.query.service, req.query.commit, body);
    return reply.code(created ? 201 : 200).send(release);
  });

  app.post('/api/deployments', {
    schema: { summary: 'Roll a release out into an environment (answers at once; the rollout runs in the control plane)', tags, body: CreateDeploymentRequest, response: { 202: Deployment, ...errorResponses } },
  }, async (req, reply) => reply.code(202).send(await s.deployments.service.create(req.ctx, req.body)));

  app.post('/api/deployments/rollback', {
    schema: { summary: 'Return a service to an earlier healthy version (straight to 100% once healthy)', tags, body: RollbackRequest, response: { 202: Deployment, ...errorResponses } },
  }, async (req, reply) => reply.code(202).send(await s.deployments.service.rollback(req.ctx, req.body)));

  app.get('/api/deployments', {
    schema: { summary: 'Deployments, newest first', tags, querystring: DeploymentListQuery, response: { 200: DeploymentList, ...errorResponses } },
  }, async (req) => ({ items: await s.deployments.service.list(req.query) }));

  app.get('/api/deployments/:id', {
    schema: { summary: 'A deployment: status, step, weight, per-step health and error-rate figures', tags, params: Id, response: { 200: Deployment, ...errorResponses } },
  }, async (req) => s.deployments.service.get(req.params.id));

  app.post('/api/deployments/:id/promote', {
    schema: { summary: 'End the current canary step (the next step starts, or the release is promoted)', tags, params: Id, response: { 200: Deployment, ...errorResponses } },
  }, async (req) => s.deployments.service.command(req.ctx, req.params.id, 'promote'));

  app.post('/api/deployments/:id/abort', {
    schema: { summary: 'Abort a rollout: all traffic back to stable, the canary stopped', tags, params: Id, response: { 200: Deployment, ...errorResponses } },
  }, async (req) => s.deployments.service.command(req.ctx, req.params.id, 'abort'));
}

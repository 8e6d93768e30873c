import { Readable } from 'node:stream';
import { z } from 'zod';
import {
  CreateDeploymentRequest,
  Deployment,
  DeploymentList,
  DeploymentListQuery,
  Release,
  RollbackRequest,
  UndeployRequest,
  UndeployResult,
} from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { Releases } from './releases.ts';
import type { DeploymentService } from './service.ts';

const tags = ['deployments'];
const Id = z.object({ id: z.string() });

/** Under /api/releases. */
export const releaseRoutes: RoutesPlugin<{ releases: Releases }> = async (app, { releases }) => {
  // A release is the raw `git archive --format=tar` of the service directory. The body is handed
  // over unread: the upload is authorized first, then streamed to disk (never buffered).
  app.addContentTypeParser(['application/x-tar', 'application/gzip', 'application/x-gzip'], (_req, payload, done) =>
    done(null, payload),
  );

  app.post(
    '',
    {
      schema: {
        summary:
          'Upload a release: the tar of a service directory at a commit (content-addressed; its build runs once). Authorized (the service, and `env` when given) before the body is read; streamed, with size and entry limits',
        operationId: 'uploadRelease',
        tags,
        querystring: z.object({ service: z.string(), commit: z.string(), env: z.string().optional() }).strict(),
        response: { 200: Release, 201: Release, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body instanceof Readable ? req.body : Readable.from([]);
      const length = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
      const { release, created } = await releases.upload(
        req.ctx,
        { ...req.query, contentLength: Number.isFinite(length) ? length : undefined },
        body,
      );
      return reply.code(created ? 201 : 200).send(release);
    },
  );
};

/** Under /api/deployments. */
export const deploymentRoutes: RoutesPlugin<{ deployments: DeploymentService }> = async (app, { deployments }) => {
  app.post(
    '',
    {
      schema: {
        summary: 'Roll a release out into an environment (answers at once; the rollout runs in the control plane)',
        operationId: 'createDeployment',
        tags,
        body: CreateDeploymentRequest,
        response: { 202: Deployment, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(202).send(await deployments.create(req.ctx, req.body)),
  );

  app.post(
    '/rollback',
    {
      schema: {
        summary: 'Return a service to an earlier healthy version (straight to 100% once healthy)',
        operationId: 'rollbackDeployment',
        tags,
        body: RollbackRequest,
        response: { 202: Deployment, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(202).send(await deployments.rollback(req.ctx, req.body)),
  );

  app.post(
    '/undeploy',
    {
      schema: {
        summary:
          'Stop a deployed service in an environment: its replicas stop and its route goes; releases and history stay (not deployed: stopped false)',
        operationId: 'undeployService',
        tags,
        body: UndeployRequest,
        response: { 200: UndeployResult, ...errorResponses },
      },
    },
    async (req) => deployments.undeploy(req.ctx, req.body),
  );

  app.get(
    '',
    {
      schema: {
        summary: 'Deployments you may read (deploy:read), newest first',
        operationId: 'listDeployments',
        tags,
        querystring: DeploymentListQuery,
        response: { 200: DeploymentList, ...errorResponses },
      },
    },
    async (req) => ({ items: await deployments.list(req.ctx, req.query) }),
  );

  app.get(
    '/:id',
    {
      schema: {
        summary: 'A deployment: status, step, weight, per-step health and error-rate figures',
        operationId: 'getDeployment',
        tags,
        params: Id,
        response: { 200: Deployment, ...errorResponses },
      },
    },
    async (req) => deployments.get(req.ctx, req.params.id),
  );

  app.post(
    '/:id/promote',
    {
      schema: {
        summary: 'End the current canary step (the next step starts, or the release is promoted)',
        operationId: 'promoteDeployment',
        tags,
        params: Id,
        response: { 200: Deployment, ...errorResponses },
      },
    },
    async (req) => deployments.command(req.ctx, req.params.id, 'promote'),
  );

  app.post(
    '/:id/abort',
    {
      schema: {
        summary: 'Abort a rollout: all traffic back to stable, the canary stopped',
        operationId: 'abortDeployment',
        tags,
        params: Id,
        response: { 200: Deployment, ...errorResponses },
      },
    },
    async (req) => deployments.command(req.ctx, req.params.id, 'abort'),
  );
};

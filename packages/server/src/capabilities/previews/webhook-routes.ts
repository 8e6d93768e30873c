import { createHash } from 'node:crypto';
import { IdpError, WebhookAccepted } from '@idp/contracts';
import { errorResponses, sendError } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import { previewRepository, type PreviewsConfig } from '../../config/previews.ts';
import { PullRequestPayload, keptFields, type Deliveries } from './deliveries.ts';
import type { DeliveryWorker } from './delivery-worker.ts';
import { verifySignature, webhookSecrets } from './signature.ts';

export interface WebhookRoutesOptions {
  config: PreviewsConfig;
  deliveries: Deliveries;
  worker: DeliveryWorker;
  /** Where `{ env: … }` secret references are read (process.env). */
  env?: NodeJS.ProcessEnv;
}

const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
const EVENT = /^[a-z_]{1,50}$/;

function header(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * `POST /api/webhooks/github`: no API token, the signature is the authentication. The raw body
 * is kept (a parser scoped to this plugin) and verified before anything is parsed; a forged or
 * unsigned body is a 401 that goes through the unauthenticated guard (rate limited, audited) and
 * nothing is recorded. A verified delivery is recorded under its id (a replay answers 200
 * duplicate) and answered 202 at once; the delivery worker does the work.
 */
export const webhookRoutes: RoutesPlugin<WebhookRoutesOptions> = async (app, opts) => {
  const { config, deliveries, worker } = opts;
  const env = opts.env ?? process.env;
  const maxBytes = config.github.maxBodyKiB * 1024;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err, req, reply) => {
    const code = (err as { code?: string }).code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(
        req,
        reply,
        new IdpError('WEBHOOK_PAYLOAD_INVALID', `the body is larger than ${config.github.maxBodyKiB} KiB`, {
          field: 'body',
        }),
      );
    }
    return sendError(req, reply, err);
  });

  app.post(
    '/github',
    {
      bodyLimit: maxBytes,
      config: { public: true },
      schema: {
        summary: 'Receive a GitHub webhook delivery (pull_request, ping), authenticated by its signature',
        description:
          'Verifies X-Hub-Signature-256 against previews.github.webhookSecret (or a previous secret), records the delivery under X-GitHub-Delivery and answers 202; the preview is made, updated or torn down in the background. A delivery id (or signed body) seen before answers 200 duplicate.',
        operationId: 'receiveGithubWebhook',
        tags: ['previews'],
        security: [],
        response: { 200: WebhookAccepted, 202: WebhookAccepted, ...errorResponses },
      },
    },
    async (req, reply) => {
      const secrets = webhookSecrets(config, env);
      if (!secrets) throw new IdpError('WEBHOOK_NOT_CONFIGURED', 'no webhook secret is configured');
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const signedWith = await verifySignature(secrets, body, req.headers['x-hub-signature-256']);
      if (!signedWith) {
        const why = req.headers['x-hub-signature-256'] ? 'does not match the body' : 'is missing';
        const denied = await app.unauthenticated.deny(
          { ip: req.ip, method: 'POST', route: '/api/webhooks/github', requestId: req.id },
          new IdpError('WEBHOOK_SIGNATURE_INVALID', `X-Hub-Signature-256 ${why}; nothing was done`, {
            field: 'x-hub-signature-256',
          }),
        );
        if (denied.retryAfterSeconds !== undefined) reply.header('retry-after', String(denied.retryAfterSeconds));
        throw denied.error;
      }

      const id = header(req.headers['x-github-delivery']);
      const event = header(req.headers['x-github-event']);
      if (!id || !DELIVERY_ID.test(id)) {
        throw new IdpError('WEBHOOK_PAYLOAD_INVALID', 'X-GitHub-Delivery is missing or malformed', {
          field: 'x-github-delivery',
        });
      }
      if (!event || !EVENT.test(event)) {
        throw new IdpError('WEBHOOK_PAYLOAD_INVALID', 'X-GitHub-Event is missing or malformed', {
          field: 'x-github-event',
        });
      }
      const record = async (status: 'done' | 'ignored' | 'failed', outcome: string, extra = {}) =>
        deliveries.insert({
          id,
          event,
          action: null,
          repo: null,
          number: null,
          payload: {},
          status,
          outcome,
          ...extra,
        });

      let json: unknown;
      const type = header(req.headers['content-type']) ?? '';
      if (!/^application\/json\b/i.test(type)) {
        await record(
          'failed',
          `not processed: content type ${type.slice(0, 60) || '(none)'} (the webhook must send application/json)`,
        );
        throw new IdpError('WEBHOOK_PAYLOAD_INVALID', 'the webhook must send application/json', {
          field: 'content-type',
        });
      }
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        await record('failed', 'not processed: the body is not JSON');
        throw new IdpError('WEBHOOK_PAYLOAD_INVALID', 'the body is not JSON', { field: 'body' });
      }

      if (event === 'ping') {
        const fresh = await record('done', 'pong');
        return reply.code(200).send({ delivery: id, status: fresh ? 'pong' : 'duplicate' });
      }
      if (event !== 'pull_request') {
        const reason = `event ${event} is not handled (only pull_request and ping)`;
        const fresh = await record('ignored', `ignored: ${reason}`);
        return reply.code(fresh ? 202 : 200).send({ delivery: id, status: fresh ? 'ignored' : 'duplicate', reason });
      }
      const parsed = PullRequestPayload.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'body';
        await record('failed', `not processed: not a pull_request event (${where})`);
        throw new IdpError('WEBHOOK_PAYLOAD_INVALID', `not a pull_request event (${where})`, { field: 'body' });
      }
      const p = parsed.data;
      const repo = p.repository.full_name;
      const where = { action: p.action, repo, number: p.number };
      if (!previewRepository(config, repo)) {
        const reason = `repository ${repo} is not configured for previews`;
        const fresh = await record('ignored', `ignored: ${reason}`, where);
        return reply.code(fresh ? 202 : 200).send({ delivery: id, status: fresh ? 'ignored' : 'duplicate', reason });
      }
      const sha = createHash('sha256').update(body).digest('hex');
      const earlier = await deliveries.sameBody(repo, p.number, sha);
      if (earlier) {
        return reply
          .code(200)
          .send({ delivery: id, status: 'duplicate', reason: `the same body was delivered as ${earlier}` });
      }
      const fresh = await deliveries.insert({
        id,
        event,
        ...where,
        payload: keptFields(p, sha),
        status: 'pending',
        outcome: null,
      });
      if (!fresh) return reply.code(200).send({ delivery: id, status: 'duplicate' });
      worker.kick();
      return reply.code(202).send({ delivery: id, status: 'accepted' });
    },
  );
};

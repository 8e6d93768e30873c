import { LogsQuery, LogsResult, type LogTailEvent } from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { LogService } from './logs.ts';

const tags = ['observability'];
/** A comment line now and then keeps proxies and the client from taking a quiet follow for a dead one. */
export const HEARTBEAT_MS = 15_000;

/** Under /api/observability/logs. */
export const logsRoutes: RoutesPlugin<{ logs: LogService; heartbeatMs?: number }> = async (app, opts) => {
  const { logs } = opts;
  const open = new Set<() => void>();
  // Followers hold their connection open: end them first, or closing the server would wait on them.
  app.addHook('preClose', (done) => {
    for (const end of [...open]) end();
    done();
  });

  app.get(
    '',
    {
      schema: {
        summary:
          "A service's replica logs in an environment, in Loki's query_range shape for streams (newest `limit` lines). Only for who may read its deployments (deploy:read) or whom a team view (observability.teams) grants them; anyone else gets an empty result. With follow=true: server-sent events, one line per `data:` (Loki's tail shape), heartbeat comments, until the client disconnects",
        operationId: 'queryLogs',
        tags,
        querystring: LogsQuery,
        response: { 200: LogsResult, ...errorResponses },
      },
    },
    async (req, reply) => {
      if (req.query.follow !== 'true') return reply.send(await logs.query(req.ctx, req.query));
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': req.id,
      });
      res.write(': following\n\n');
      const send = (event: LogTailEvent) => {
        if (!res.destroyed && !res.writableEnded) res.write(`data: ${JSON.stringify(event)}\n\n`);
      };
      const heartbeat = setInterval(() => {
        if (!res.destroyed && !res.writableEnded) res.write(': heartbeat\n\n');
      }, opts.heartbeatMs ?? HEARTBEAT_MS);
      heartbeat.unref();
      const stopping = logs.follow(req.ctx, req.query, send);
      const end = () => {
        open.delete(end);
        clearInterval(heartbeat);
        void stopping.then((stop) => stop()).catch(() => {});
        if (!res.writableEnded) res.end();
      };
      open.add(end);
      res.on('close', end);
      stopping.catch(() => end());
    },
  );
};

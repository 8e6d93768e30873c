import { z } from 'zod';
import {
  CreateTaskRequest,
  DryRunResult,
  Task,
  TaskList,
  TaskLog,
  TaskStatus,
  TemplateDetail,
  TemplateList,
} from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { TemplateService } from './service.ts';

const NameParams = z.object({ name: z.string().min(1).max(253).describe('Template name, e.g. node-service') });
const IdParams = z.object({ id: z.string().min(1).max(64).describe('Task id, e.g. task_3fK9x2mQa1') });
const TaskListQuery = z.object({
  createdBy: z.enum(['me', 'all']).default('me').describe('me: your tasks; all: every task you may read (task:read)'),
  status: TaskStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const TaskLogQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).describe('Only lines with a greater seq'),
  follow: z.enum(['true', 'false']).optional().describe('true: server-sent events until the task ends'),
});

/** A comment line now and then keeps proxies from taking a quiet follow for a dead one. */
const HEARTBEAT_MS = 15_000;

/** Under /api: /templates and /tasks. */
export const templateRoutes: RoutesPlugin<{ templates: TemplateService }> = async (app, { templates }) => {
  const open = new Set<() => void>();
  // Followers hold their connection open: end them first, or closing the server would wait on them.
  app.addHook('preClose', (done) => {
    for (const end of [...open]) end();
    done();
  });
  const tags = ['templates'];
  app.get(
    '/templates',
    {
      schema: {
        summary: 'Templates (Template entities of the catalog) you can run',
        operationId: 'listTemplates',
        tags,
        response: { 200: TemplateList, ...errorResponses },
      },
    },
    async (req) => ({ items: await templates.list(req.ctx) }),
  );

  app.get(
    '/templates/:name',
    {
      schema: {
        summary: 'A template with its parameters (merged JSON Schema, pages as written, a table) and steps',
        operationId: 'getTemplate',
        tags,
        params: NameParams,
        response: { 200: TemplateDetail, ...errorResponses },
      },
    },
    async (req) => templates.get(req.ctx, req.params.name),
  );

  app.post(
    '/templates/:name/tasks',
    {
      schema: {
        summary:
          'Run a template: decided by Cedar (template:run), values validated (every problem with its JSON path), then a task answered at once (202) while its steps run; dryRun=true answers the files the steps would write (200), with no side effects',
        operationId: 'createTask',
        tags,
        params: NameParams,
        body: CreateTaskRequest,
        response: { 200: DryRunResult, 202: Task, ...errorResponses },
      },
    },
    async (req, reply) => {
      const result = await templates.create(req.ctx, req.params.name, req.body);
      return reply.code('files' in result ? 200 : 202).send(result as never);
    },
  );

  const taskTags = ['tasks'];
  app.get(
    '/tasks',
    {
      schema: {
        summary: 'Tasks: yours (createdBy=me, default) or every one you may read (createdBy=all), newest first',
        operationId: 'listTasks',
        tags: taskTags,
        querystring: TaskListQuery,
        response: { 200: TaskList, ...errorResponses },
      },
    },
    async (req) => ({ items: await templates.listTasks(req.ctx, req.query) }),
  );

  app.get(
    '/tasks/:id',
    {
      schema: {
        summary: "A task with its steps (status, attempts, output), output links and error; another user's is 404",
        operationId: 'getTask',
        tags: taskTags,
        params: IdParams,
        response: { 200: Task, ...errorResponses },
      },
    },
    async (req) => templates.getTask(req.ctx, req.params.id),
  );

  app.get(
    '/tasks/:id/logs',
    {
      schema: {
        summary:
          "A task's log (after=SEQ continues). With follow=true: server-sent events, one TaskLogEntry per `data:`, then an event `task` with the final Task when it ends",
        operationId: 'getTaskLogs',
        tags: taskTags,
        params: IdParams,
        querystring: TaskLogQuery,
        response: { 200: TaskLog, ...errorResponses },
      },
    },
    async (req, reply) => {
      if (req.query.follow !== 'true')
        return reply.send({ items: await templates.logs(req.ctx, req.params.id, req.query.after) });
      // Refused (404) before the stream starts, as a plain error.
      const res = reply.raw;
      let ended = false;
      let started = false;
      const write = (text: string) => {
        if (!res.destroyed && !res.writableEnded) res.write(text);
      };
      const buffered: string[] = [];
      const stop = await templates.follow(
        req.ctx,
        req.params.id,
        req.query.after,
        (entry) =>
          started ? write(`data: ${JSON.stringify(entry)}\n\n`) : buffered.push(`data: ${JSON.stringify(entry)}\n\n`),
        (task) => {
          const text = `event: task\ndata: ${JSON.stringify(task)}\n\n`;
          if (started) {
            write(text);
            close();
          } else {
            buffered.push(text);
            ended = true;
          }
        },
      );
      let stopHeartbeat = () => {};
      const close = () => {
        open.delete(close);
        stopHeartbeat();
        stop();
        if (!res.writableEnded) res.end();
      };
      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': req.id,
      });
      write(': following\n\n');
      for (const text of buffered) write(text);
      if (ended) return close();
      const heartbeat = setInterval(() => write(': heartbeat\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      started = true;
      stopHeartbeat = () => clearInterval(heartbeat);
      open.add(close);
      res.on('close', close);
    },
  );

  app.post(
    '/tasks/:id/retry',
    {
      schema: {
        summary:
          'Retry a failed or cancelled task from its first step not completed (finished steps keep their outputs)',
        operationId: 'retryTask',
        tags: taskTags,
        params: IdParams,
        response: { 202: Task, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(202).send(await templates.retry(req.ctx, req.params.id)),
  );

  app.post(
    '/tasks/:id/cancel',
    {
      schema: {
        summary: "Cancel an open or running task: the running step's action is stopped, the steps left are cancelled",
        operationId: 'cancelTask',
        tags: taskTags,
        params: IdParams,
        response: { 202: Task, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(202).send(await templates.cancel(req.ctx, req.params.id)),
  );
};

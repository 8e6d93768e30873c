// The golden-path renderer: Backstage-style Nunjucks run in a sandbox process with a small V8
// heap, an empty environment, no file or process access (sandbox-process.ts) and a time limit. Renders asked for while the sandbox is busy (a
// skeleton's files) go to it together as one batch. A batch that overruns its time, or a sandbox
// that dies allocating, is replaced by a fresh sandbox; the batch's renders then run there one by
// one, and the one that overruns alone gets TEMPLATE_RENDER_LIMIT. The control plane never hangs
// or dies on a template. (A worker thread is not enough: V8 aborts the whole process when a
// worker's single allocation, e.g. a growing array, passes its heap limit.)
import type { ChildProcess } from 'node:child_process';
import { IdpError } from '@idp/contracts';
import type { Renderer, TemplateContext } from '../types.ts';
import type {
  RenderBatch,
  RenderFailure,
  RenderItem,
  RenderResult,
  SandboxProbe,
  WorkerReply,
  WorkerRequest,
} from './protocol.ts';
import { startSandbox } from './sandbox-process.ts';

export interface RendererOptions {
  /** How long one render (and one batch) may run (default 2000 ms). */
  timeoutMs?: number;
  /** The sandbox's V8 heap (old generation) in MiB (default 64). */
  memoryMb?: number;
  /** The longest output one render may produce, in characters (default 16 Mi). */
  maxOutputChars?: number;
  /** Run the sandbox through tsx without Node's permission model (what happens without esbuild). */
  unbundled?: boolean;
}

export interface SandboxedRenderer extends Renderer {
  renderValue(value: unknown, context: TemplateContext, where?: string): Promise<unknown>;
  /** What the sandbox process may do (file, process and thread access, its environment), as it sees itself. */
  probe(): Promise<SandboxProbe>;
  /** Ends the sandbox; renders asked for afterwards fail. */
  close(): Promise<void>;
}

/** A render as asked for: like RenderItem, with the context itself rather than its index in a batch. */
type Job =
  | { op: 'value'; value: unknown; context: unknown; where: string }
  | { op: 'text'; text: string; context: unknown; where: string };

interface Pending {
  job: Job;
  /** true once a batch it was in overran: it runs alone, so an overrun is its own. */
  solo: boolean;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

type Loss = 'time' | 'memory' | 'crash';

const MAX_BATCH = 500;

export function createRenderer(opts: RendererOptions = {}): SandboxedRenderer {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const memoryMb = opts.memoryMb ?? 64;
  const maxOutputChars = opts.maxOutputChars ?? 16 * 1024 * 1024;

  const queue: Pending[] = [];
  let child: ChildProcess | null = null;
  let starting = false;
  let ready = false;
  const probes: { resolve(p: SandboxProbe): void; reject(err: unknown): void }[] = [];
  let startFailures = 0;
  let inFlight: { id: number; entries: Pending[]; timer: NodeJS.Timeout } | null = null;
  let nextId = 1;
  let scheduled = false;
  let closed = false;

  const idle = (c: ChildProcess, busy: boolean): void => {
    // An idle sandbox does not keep the control plane (or a test) alive.
    if (busy) {
      c.ref();
      c.channel?.ref();
    } else {
      c.unref();
      c.channel?.unref();
    }
  };

  const spawn = (): void => {
    starting = true;
    startSandbox({ memoryMb, maxOutputChars, unbundled: opts.unbundled }).then(
      ({ child: c }) => {
        starting = false;
        if (closed) c.kill('SIGKILL');
        else watch(c);
      },
      (err: unknown) => {
        starting = false;
        startFailed(err instanceof Error ? err.message : String(err));
      },
    );
  };

  const startFailed = (detail: string): void => {
    // Say so to everyone waiting rather than respawn in a loop.
    if (++startFailures >= 2) {
      for (const p of queue.splice(0)) p.reject(failed(p.job.where, `the render sandbox did not start (${detail})`));
      for (const p of probes.splice(0)) p.reject(new Error(`the render sandbox did not start (${detail})`));
    }
    schedule();
  };

  const watch = (c: ChildProcess): void => {
    child = c;
    ready = false;
    let stderr = '';
    c.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4096);
    });
    c.stderr?.on('error', () => {});
    (c.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    c.on('error', (err) => {
      // Could not be started (or signalled): without an exit to come, give up on it here.
      if (c === child && !ready) lose('crash', err.message);
    });
    c.on('message', (reply: WorkerReply) => {
      if (c !== child) return;
      if (reply.type === 'ready') {
        ready = true;
        startFailures = 0;
        idle(c, probes.length > 0);
        for (let i = 0; i < probes.length; i++) c.send({ type: 'probe' } satisfies WorkerRequest);
        schedule();
        return;
      }
      if (reply.type === 'probe') {
        probes.shift()?.resolve(reply.probe);
        if (!inFlight) idle(c, false);
        return;
      }
      if (!inFlight || reply.id !== inFlight.id) return;
      const { entries, timer } = inFlight;
      clearTimeout(timer);
      inFlight = null;
      idle(c, false);
      reply.results.forEach((result, i) => settle(entries[i]!, result));
      schedule();
    });
    c.on('exit', (code, signal) => {
      if (c !== child) return;
      const oom = signal === 'SIGABRT' || /heap out of memory|Allocation failed/i.test(stderr);
      lose(oom ? 'memory' : 'crash', oom ? 'out of memory' : `exit ${signal ?? code ?? '?'}`);
    });
  };

  /** The sandbox is gone (or must go): a lone render fails, a batch's renders go to a fresh one, one by one. */
  const lose = (reason: Loss, detail: string): void => {
    const c = child;
    child = null;
    ready = false;
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const p of probes.splice(0)) p.reject(new Error(`the render sandbox stopped (${detail})`));
    const batch = inFlight;
    inFlight = null;
    if (!batch) {
      startFailed(detail);
      return;
    }
    clearTimeout(batch.timer);
    if (batch.entries.length === 1) {
      batch.entries[0]!.reject(limitError(reason, batch.entries[0]!.job.where, detail));
    } else {
      queue.unshift(...batch.entries.map((p) => ({ ...p, solo: true })));
    }
    schedule();
  };

  const limitError = (reason: Loss, where: string, detail: string): IdpError => {
    switch (reason) {
      case 'time':
        return new IdpError(
          'TEMPLATE_RENDER_LIMIT',
          `${where}: the render ran longer than ${timeoutMs} ms and was stopped`,
          { where, limit: 'time', timeoutMs },
        );
      case 'memory':
        return new IdpError(
          'TEMPLATE_RENDER_LIMIT',
          `${where}: the render used more than ${memoryMb} MiB and was stopped`,
          { where, limit: 'memory', memoryMb },
        );
      case 'crash':
        return new IdpError('TEMPLATE_RENDER_LIMIT', `${where}: the render sandbox stopped (${detail})`, {
          where,
          limit: 'crash',
        });
    }
  };

  const settle = (p: Pending, result: RenderResult): void => {
    if (result.ok) p.resolve(result.value);
    else p.reject(renderError(result.error));
  };

  const takeBatch = (): Pending[] => {
    if (queue[0]?.solo) return queue.splice(0, 1);
    let n = 0;
    while (n < queue.length && n < MAX_BATCH && !queue[n]!.solo) n++;
    return queue.splice(0, n);
  };

  const dispatch = (): void => {
    scheduled = false;
    if (closed || inFlight || queue.length === 0) return;
    if (!child && !starting) spawn();
    const c = child;
    if (!ready || !c) return;
    const entries = takeBatch();
    const contexts: unknown[] = [];
    const index = new Map<unknown, number>();
    const items = entries.map(({ job }): RenderItem => {
      let ctx = index.get(job.context);
      if (ctx === undefined) {
        ctx = contexts.push(job.context) - 1;
        index.set(job.context, ctx);
      }
      return { ...job, context: ctx };
    });
    const batch: RenderBatch = { type: 'render', id: nextId++, contexts, items };
    try {
      c.send(batch satisfies WorkerRequest);
    } catch (err) {
      // A context that is not plain data (a function, a socket) cannot cross into the sandbox.
      const why = err instanceof Error ? err.message : String(err);
      for (const p of entries) p.reject(failed(p.job.where, `the template context is not plain data (${why})`));
      schedule();
      return;
    }
    idle(c, true);
    const timer = setTimeout(() => lose('time', 'time limit'), timeoutMs);
    inFlight = { id: batch.id, entries, timer };
  };

  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(dispatch);
  };

  const enqueue = (job: Job): Promise<unknown> => {
    if (closed) return Promise.reject(failed(job.where, 'the renderer is closed'));
    return new Promise((resolve, reject) => {
      queue.push({ job, solo: false, resolve, reject });
      schedule();
    });
  };

  const renderValue = (value: unknown, context: TemplateContext, where = 'input'): Promise<unknown> =>
    enqueue({ op: 'value', value, context, where });

  return {
    renderValue,
    async condition(value, context) {
      return isTruthy(await renderValue(value, context, 'if'));
    },
    async renderText(text, context, where) {
      return (await enqueue({ op: 'text', text, context, where })) as string;
    },
    probe() {
      return new Promise<SandboxProbe>((resolve, reject) => {
        if (closed) return reject(new Error('the renderer is closed'));
        probes.push({ resolve, reject });
        if (child && ready) {
          idle(child, true);
          child.send({ type: 'probe' } satisfies WorkerRequest);
        } else if (!child && !starting) spawn();
      });
    },
    async close() {
      closed = true;
      const c = child;
      child = null;
      if (inFlight) clearTimeout(inFlight.timer);
      const waiting = [...(inFlight?.entries ?? []), ...queue.splice(0)];
      inFlight = null;
      for (const p of waiting) p.reject(failed(p.job.where, 'the renderer was closed'));
      for (const p of probes.splice(0)) p.reject(new Error('the renderer was closed'));
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((resolve) => c.once('exit', resolve));
        c.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** As Backstage decides a step's `if`: false, 'false', '', 0, null, undefined and [] skip the step. */
export function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value === 'false') return false;
  return Boolean(value);
}

function failed(where: string, message: string): IdpError {
  return new IdpError('TEMPLATE_RENDER_FAILED', `${where}: ${message}`, { where });
}

function renderError(error: RenderFailure): IdpError {
  const at =
    error.line !== null ? ` (line ${error.line}${error.column !== null ? `, column ${error.column}` : ''})` : '';
  const details = { where: error.where, line: error.line, column: error.column };
  if (error.limit) {
    return new IdpError('TEMPLATE_RENDER_LIMIT', `${error.where}: ${error.message}`, { ...details, limit: 'output' });
  }
  return new IdpError('TEMPLATE_RENDER_FAILED', `${error.where}${at}: ${error.message}`, details);
}

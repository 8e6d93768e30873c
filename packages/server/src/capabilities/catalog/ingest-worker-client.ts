// The main thread's side of the ingest worker (ingest-worker.ts): one worker thread per process, started
// when a large catalog file is read and stopped when it has been idle a while. A worker that dies (a
// crash, its heap limit) fails the files it was checking, not the server; the next file starts a new one.
import { Worker } from 'node:worker_threads';
import { scriptOnce } from '../../util/script-bundle.ts';
import type { CheckedDocument, WorkerReply, WorkerRequest } from './ingest-protocol.ts';
import type { StitchedEntity, StitchInput } from './stitch-entity.ts';

/** The worker script, bundled ahead of time: the build of the CLI (scripts/build.ts) defines it. */
declare const IDP_CATALOG_WORKER_SCRIPT: string | undefined;

/** Files from this size on are parsed and checked by the worker; smaller ones on the main thread. */
const WORKER_MIN_BYTES = 256 * 1024;
/** From this many entities on, a write has the worker stitch them while it writes the ones before. */
const WORKER_STITCH_MIN = 1000;
/** The worker's heap: a file within CATALOG_YAML_LIMITS needs far less. */
const WORKER_HEAP_MB = 256;
const IDLE_MS = 30_000;

/** The worker stopped (or could not start) before it answered. */
export class IngestWorkerError extends Error {}

export type CheckFileOutcome =
  | { documents: CheckedDocument[] }
  | { yamlError: { reason: string; line: number | null; column: number | null; limit?: string } };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The worker as one script, or null where it cannot be had (a run from source without esbuild). */
const workerScript = scriptOnce(
  typeof IDP_CATALOG_WORKER_SCRIPT === 'string' ? IDP_CATALOG_WORKER_SCRIPT : undefined,
  async (esbuild) => (await import('./ingest-worker-bundle.ts')).bundleIngestWorker(esbuild),
);

/** A request waiting for its answer: takes each reply, settles when the last one came. */
interface Pending {
  onReply(reply: WorkerReply): void;
  fail(err: Error): void;
}

class IngestWorker {
  /** Files from this size on are parsed and checked here (tests lower it, or raise it to compare). */
  minBytes = WORKER_MIN_BYTES;
  /** Writes that stitch this many entities or more have the worker stitch them (tests change it). */
  minStitch = WORKER_STITCH_MIN;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private idle: NodeJS.Timeout | undefined;

  /** Whether a file is being checked. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Whether a worker can run here at all (false: check on the main thread). */
  async available(): Promise<boolean> {
    return (await workerScript()) !== null;
  }

  /** Parses `text` and checks its entities in the worker; rejects with IngestWorkerError if it stops. */
  checkFile(text: string, fileRef: string, origin: string): Promise<CheckFileOutcome> {
    const documents: CheckedDocument[] = [];
    return this.request<CheckFileOutcome>({ type: 'check-file', text, fileRef, origin }, (reply, settle) => {
      switch (reply.type) {
        case 'documents':
          for (const d of reply.documents) documents.push(d);
          return;
        case 'done':
          return settle({ documents });
        case 'yaml-error':
          return settle({
            yamlError: { reason: reply.reason, line: reply.line, column: reply.column, limit: reply.limit },
          });
        default:
          return settle(new IngestWorkerError(`the catalog worker answered ${reply.type} to a file`));
      }
    });
  }

  /** Stitches entities in the worker (see stitch-entity.ts); rejects with IngestWorkerError if it stops. */
  stitch(inputs: StitchInput[]): Promise<(StitchedEntity | undefined)[]> {
    return this.request({ type: 'stitch', inputs }, (reply, settle) =>
      settle(
        reply.type === 'stitched'
          ? reply.results.map((r) => r ?? undefined)
          : new IngestWorkerError(`the catalog worker answered ${reply.type} to a stitch`),
      ),
    );
  }

  private async request<T>(
    message: DistributiveOmit<WorkerRequest, 'id'>,
    onReply: (reply: WorkerReply, settle: (outcome: T | Error) => void) => void,
  ): Promise<T> {
    const worker = await this.start();
    const id = this.nextId++;
    const outcome = await new Promise<T | Error>((resolve) => {
      const settle = (o: T | Error) => {
        this.pending.delete(id);
        resolve(o);
      };
      this.pending.set(id, {
        onReply: (reply) =>
          reply.type === 'failed'
            ? settle(new IngestWorkerError(`the catalog worker failed: ${reply.message}`))
            : onReply(reply, settle),
        fail: settle,
      });
      worker.postMessage({ ...message, id } as WorkerRequest);
    });
    if (this.pending.size === 0) this.stopWhenIdle();
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  /** Stops the worker now (tests; the server's shutdown need not: the worker does not hold it up). */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll('the catalog worker was stopped');
    await worker?.terminate();
  }

  private async start(): Promise<Worker> {
    clearTimeout(this.idle);
    if (this.worker) return this.worker;
    const code = await workerScript();
    if (code === null) throw new IngestWorkerError('the catalog worker is not available');
    if (this.worker) return this.worker;
    const worker = new Worker(code, {
      eval: true,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      env: {},
    });
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    const gone = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(why);
    };
    worker.on('error', (err) => gone(`the catalog worker stopped: ${err.message}`));
    worker.on('exit', (code) => gone(`the catalog worker exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  private onReply(reply: WorkerReply): void {
    this.pending.get(reply.id)?.onReply(reply);
  }

  private failAll(why: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.fail(new IngestWorkerError(why));
  }

  private stopWhenIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.pending.size === 0) void this.stop();
    }, IDLE_MS);
    this.idle.unref();
  }
}

/** The process's ingest worker. */
export const ingestWorker = new IngestWorker();

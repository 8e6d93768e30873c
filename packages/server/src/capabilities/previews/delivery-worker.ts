import { MAX_ATTEMPTS, type Deliveries, type StoredDelivery } from './deliveries.ts';
import type { DeliveryHandler } from './types.ts';

/**
 * Works through stored deliveries: one pull request's in the order received, different pull
 * requests side by side. The route only records a delivery and kicks the worker, so the answer
 * does not wait for the work; on start the worker picks up whatever a stopped server left pending
 * or half-done (the handler is idempotent), giving up on a delivery after MAX_ATTEMPTS tries.
 */
export class DeliveryWorker {
  private handler: DeliveryHandler | null = null;
  /** Per pull request (or delivery id for other events): the tail of its chain of work. */
  private readonly lanes = new Map<string, Promise<void>>();
  /** Ids queued or running, so a kick does not queue them twice. */
  private readonly queued = new Set<string>();
  private scanning: Promise<void> | null = null;
  private rescan = false;
  private stopped = false;
  /** Pull requests worked on at once; the others wait their turn. */
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly deliveries: Deliveries,
    private readonly log: (line: string) => void = () => {},
    private readonly concurrency = 4,
    private readonly batch = 200,
  ) {}

  /** Starts processing with `handler`, resuming unfinished deliveries; returns how many were found. */
  async start(handler: DeliveryHandler): Promise<number> {
    this.handler = handler;
    const found = (await this.deliveries.unfinished()).length;
    this.kick();
    return found;
  }

  /** Looks for pending deliveries now (after the route recorded one). Never rejects. */
  kick(): void {
    if (!this.handler || this.stopped) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = this.scan()
      .catch((err: unknown) => this.log(`warning: webhook deliveries: ${(err as Error).message}`))
      .finally(() => {
        this.scanning = null;
        if (this.rescan) {
          this.rescan = false;
          this.kick();
        }
      });
  }

  /** Resolves once nothing is queued or running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.scanning || this.lanes.size > 0) {
      await this.scanning;
      await Promise.all([...this.lanes.values()]);
    }
  }

  /** Takes no new work and waits for the deliveries in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.scanning;
    await Promise.all([...this.lanes.values()]);
  }

  private async scan(): Promise<void> {
    const found = await this.deliveries.unfinished(this.batch);
    // More than one batch waiting: look again once this one is done.
    if (found.length === this.batch) void this.idle().then(() => this.kick());
    for (const d of found) {
      if (this.stopped) return;
      if (this.queued.has(d.id)) continue;
      this.queued.add(d.id);
      const lane = d.repo && d.number !== null ? `${d.repo.toLowerCase()}#${d.number}` : d.id;
      const tail = this.lanes.get(lane) ?? Promise.resolve();
      const next = tail
        .then(() => this.process(d))
        .finally(() => {
          this.queued.delete(d.id);
          if (this.lanes.get(lane) === next) this.lanes.delete(lane);
        });
      this.lanes.set(lane, next);
    }
  }

  private async process(d: StoredDelivery): Promise<void> {
    if (this.stopped || !this.handler) return;
    // A slot is handed straight to the next waiter, so at most `concurrency` run at once.
    if (this.running < this.concurrency) this.running += 1;
    else await new Promise<void>((go) => this.waiting.push(go));
    try {
      await this.work(d);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  private async work(d: StoredDelivery): Promise<void> {
    if (this.stopped || !this.handler) return;
    try {
      if (d.attempts >= MAX_ATTEMPTS) {
        await this.deliveries.finish(d.id, {
          status: 'failed',
          outcome: `gave up after ${d.attempts} attempts (the server stopped while it was being processed)`,
        });
        return;
      }
      await this.deliveries.begin(d.id);
      let result;
      try {
        result = await this.handler.handle({
          id: d.id,
          event: d.event,
          action: d.action,
          repo: d.repo,
          number: d.number,
          payload: d.payload,
        });
      } catch (err) {
        result = { status: 'failed' as const, outcome: `failed: ${(err as Error).message}` };
      }
      // Stopped mid-way: left as processing, so the next start hands it over again.
      if (result.status === 'interrupted' || (this.stopped && result.status === 'failed')) return;
      await this.deliveries.finish(d.id, { status: result.status, outcome: result.outcome });
    } catch (err) {
      this.log(`warning: webhook delivery ${d.id}: ${(err as Error).message}`);
    }
  }
}

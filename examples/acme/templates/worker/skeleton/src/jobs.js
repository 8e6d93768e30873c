// The work itself: one job at a time from a Redis list (<prefix>jobs, pushed with RPUSH), or,
// without Redis, a heartbeat. Replace handle() with what the worker is for.
export function createWorker({ redis, key, intervalMs = 1000, log }) {
  const stats = { processed: 0, failed: 0, lastRunAt: null, lastError: null, running: false };
  let timer;

  async function handle(job) {
    // The job is whatever the producer pushed (JSON); this one only logs it.
    log('info', 'job done', { job });
  }

  async function tick() {
    stats.lastRunAt = new Date().toISOString();
    if (!redis) return;
    // Drain what is queued now, a bounded batch per tick so /health keeps answering.
    for (let i = 0; i < 100; i++) {
      const raw = await redis((c) => c.command('LPOP', key('jobs')));
      if (raw === null) break;
      try {
        await handle(JSON.parse(raw));
        stats.processed += 1;
      } catch (err) {
        stats.failed += 1;
        stats.lastError = err.message;
        await redis((c) => c.command('RPUSH', key('jobs:failed'), raw));
      }
    }
  }

  async function loop() {
    try {
      await tick();
      stats.lastError = null;
    } catch (err) {
      stats.lastError = err.message;
      log('error', 'tick failed', { error: err.message });
    }
    if (stats.running) timer = setTimeout(loop, intervalMs);
  }

  return {
    stats,
    start() {
      stats.running = true;
      timer = setTimeout(loop, 0);
    },
    stop() {
      stats.running = false;
      clearTimeout(timer);
    },
  };
}

import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ManualTimers } from './clock.ts';
import { HealthChecker, type HealthCheckResult } from './health.ts';
import { findFreePort } from './probe.ts';
import { holdsFor } from '../../../test/support/wait.ts';
import { waitFor } from './test-helpers.ts';

describe('HealthChecker', () => {
  it('GETs the path on every target each interval and counts consecutive failures over real HTTP', async () => {
    let healthy = true;
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/health' && healthy ? 200 : 503;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const good = { host: '127.0.0.1', port: (server.address() as { port: number }).port };
    const dead = { host: '127.0.0.1', port: await findFreePort() };
    const rounds: HealthCheckResult[][] = [];
    const checker = new HealthChecker({
      targets: [good, dead],
      path: '/health',
      intervalMs: 40,
      immediate: true,
      onResults: (results) => rounds.push(results),
    });
    try {
      checker.start();
      await waitFor('three rounds', () => rounds.length >= 3);
      const third = rounds[2]!;
      expect(third[0]).toMatchObject({ target: good, ok: true, status: 200, consecutiveFailures: 0 });
      expect(third[1]).toMatchObject({ target: dead, ok: false, error: 'ECONNREFUSED', consecutiveFailures: 3 });

      healthy = false;
      const seen = rounds.length;
      await waitFor('two failed rounds', () => rounds.length >= seen + 3);
      const latest = rounds.at(-1)![0]!;
      expect(latest).toMatchObject({ ok: false, status: 503, error: 'status 503' });
      expect(latest.consecutiveFailures).toBeGreaterThanOrEqual(2);
      expect(checker.consecutiveFailures(good)).toBe(latest.consecutiveFailures);

      healthy = true;
      await waitFor('recovery', () => rounds.at(-1)![0]!.ok);
      expect(checker.consecutiveFailures(good)).toBe(0);

      checker.stop();
      const stoppedAt = rounds.length;
      // A round in flight at stop() does not call back: nothing may arrive for a few intervals.
      await holdsFor(150, () => expect(rounds.length).toBe(stoppedAt), 10);
      expect(checker.isRunning).toBe(false);
    } finally {
      checker.stop();
      server.close();
    }
  });

  it('times out a target that does not answer', async () => {
    const server = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const slow = { host: '127.0.0.1', port: (server.address() as { port: number }).port };
    const checker = new HealthChecker({
      targets: [slow],
      path: '/health',
      intervalMs: 1000,
      timeoutMs: 50,
      onResults: () => {},
    });
    const [result] = await checker.checkNow();
    expect(result).toMatchObject({ ok: false, error: 'timeout', consecutiveFailures: 1 });
    server.closeAllConnections();
    server.close();
  });

  it('runs on an injected clock at a fixed rate, keeps counts for targets that stay, stops its timer', async () => {
    const clock = new ManualTimers();
    const a = { host: 'a', port: 1 };
    const b = { host: 'b', port: 2 };
    const down = new Set(['a:1', 'b:2']);
    const rounds: HealthCheckResult[][] = [];
    const checker = new HealthChecker({
      targets: [a, b],
      path: '/health',
      intervalMs: 10_000,
      timers: clock,
      probe: async (target) => ({ ok: !down.has(`${target.host}:${target.port}`), latencyMs: 1 }),
      onResults: (results) => rounds.push(results),
    });
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    checker.start();
    clock.advance(9_999);
    await settle();
    expect(rounds).toHaveLength(0);
    for (let i = 1; i <= 3; i++) {
      clock.advance(i === 1 ? 1 : 10_000);
      await settle();
      expect(rounds).toHaveLength(i);
    }
    expect(rounds[2]!.map((r) => r.consecutiveFailures)).toEqual([3, 3]);
    checker.setTargets([a]);
    down.delete('a:1');
    clock.advance(10_000);
    await settle();
    expect(rounds[3]!.map((r) => [r.target.host, r.consecutiveFailures])).toEqual([['a', 0]]);
    checker.stop();
    expect(clock.pendingCount).toBe(0);
  });
});

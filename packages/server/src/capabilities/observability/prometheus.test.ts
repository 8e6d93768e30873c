import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OBSERVABILITY_DEFAULTS } from '../../config/index.ts';
import { findPrometheusBinary, PrometheusService } from './prometheus.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** An executable script standing in for the binary (a real process, started the same way). */
function script(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'idp-prom-bin-'));
  const path = join(dir, 'prometheus');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function service(binary: string, listen = '127.0.0.1:0') {
  const lines: string[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-prom-svc-'));
  const svc = new PrometheusService({
    settings: { ...OBSERVABILITY_DEFAULTS.prometheus, binary, listen },
    dataDir,
    log: (line) => lines.push(line),
    backoff: { initialMs: 50, maxMs: 200, resetAfterMs: 60_000 },
    stopGraceMs: 1000,
    readyTimeoutMs: 500,
  });
  stops.push(() => svc.stop());
  return { svc, lines, dataDir };
}

describe('PrometheusService', () => {
  it('finds the binary by path, on the search path, or not at all', () => {
    const bin = script('exit 0');
    expect(findPrometheusBinary(bin)).toBe(bin);
    expect(findPrometheusBinary('prometheus', join(bin, '..'))).toBe(bin);
    expect(findPrometheusBinary('/nonexistent/prometheus')).toBeNull();
    expect(findPrometheusBinary('no-such-prometheus-binary', '/nonexistent')).toBeNull();
  });

  it('external: the URL from the config, no process', async () => {
    const lines: string[] = [];
    const svc = new PrometheusService({
      settings: { ...OBSERVABILITY_DEFAULTS.prometheus, url: 'http://prom.internal:9090/' },
      dataDir: mkdtempSync(join(tmpdir(), 'idp-prom-ext-')),
      log: (line) => lines.push(line),
    });
    await svc.start('127.0.0.1:7070');
    expect(svc.prometheusUrl).toBe('http://prom.internal:9090');
    expect(svc.status()).toMatchObject({ mode: 'external', ready: null, pid: null });
  });

  it('restarts a Prometheus that exits, with backoff, and says so in the log', async () => {
    const { svc, lines } = service(script('echo "started $*"; exit 3'));
    await svc.start('127.0.0.1:7070');
    expect(svc.mode).toBe('managed');
    expect(svc.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expect.poll(() => svc.status().restarts, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => /Prometheus exited \(code 3\) after \d+ s; restarting in \d+ ms/.test(l))).toBe(true);
  });

  it('passes the flags, writes prometheus.yml and the log, and stops the whole group', async () => {
    const { svc, dataDir } = service(script('echo "args: $*"; exec sleep 60'));
    await svc.start('127.0.0.1:7070');
    const log = join(dataDir, 'prometheus', 'prometheus.log');
    await expect.poll(() => readFileSync(log, 'utf8'), { timeout: 10_000 }).toContain('args: --config.file=');
    const text = readFileSync(log, 'utf8');
    expect(text).toContain(`--storage.tsdb.path=${join(dataDir, 'prometheus', 'data')}`);
    expect(text).toContain('--storage.tsdb.retention.time=7d');
    expect(text).toMatch(/--web\.listen-address=127\.0\.0\.1:\d+/);
    expect(readFileSync(join(dataDir, 'prometheus', 'prometheus.yml'), 'utf8')).toContain('127.0.0.1:7070');
    const pid = svc.status().pid!;
    expect(pid).toBeGreaterThan(0);
    await svc.stop();
    expect(() => process.kill(-pid, 0)).toThrow();
    expect(svc.status().restarts).toBe(0);
  });

  it('a listen address already in use is a problem named in the log, not a restart loop', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as { port: number }).port;
    const { svc, lines } = service(script('exec sleep 60'), `127.0.0.1:${port}`);
    await svc.start('127.0.0.1:7070');
    expect(svc.status()).toMatchObject({
      mode: 'managed',
      url: null,
      pid: null,
      problem: expect.stringContaining('is in use'),
    });
    expect(svc.prometheusUrl).toBeNull();
    expect(lines.join('\n')).toContain(`127.0.0.1:${port} is in use`);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server.ts';

export const PROMETHEUS = process.env.IDP_PROMETHEUS_PATH ?? '/usr/bin/prometheus';

/** A real Prometheus scraping, every second, a local exporter that serves `exposition()`. */
export interface ScrapedPrometheus {
  url: string;
  /** The Prometheus process (a test may stop it to see what happens without it). */
  process: ChildProcess;
  /** Stops Prometheus (if still running) and the exporter, and removes its folder. */
  stop(): Promise<void>;
}

/** Optional set-up between the exporter's start and Prometheus's (the bench loads history this way). */
export interface ScrapedPrometheusOptions {
  /** Prefix of the temporary folder's name. */
  dirPrefix?: string;
  /** Runs before Prometheus starts, with its folder, its TSDB path and the exporter's `host:port`. */
  seed?(dir: string, data: string, instance: string): Promise<void>;
}

export async function startScrapedPrometheus(
  exposition: () => string,
  options: ScrapedPrometheusOptions = {},
): Promise<ScrapedPrometheus> {
  const exporter: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(exposition());
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  const instance = `127.0.0.1:${(exporter.address() as { port: number }).port}`;
  const dir = mkdtempSync(join(tmpdir(), options.dirPrefix ?? 'idp-prom-'));
  await options.seed?.(dir, join(dir, 'data'), instance);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      'scrape_configs:',
      '  - job_name: workloads',
      '    honor_labels: true',
      `    static_configs: [{targets: ['${instance}']}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const process = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    process,
    async stop() {
      if (process.exitCode === null && process.signalCode === null) {
        const exited = new Promise((resolve) => process.once('exit', resolve));
        process.kill('SIGTERM');
        await exited;
      }
      exporter.closeAllConnections();
      await new Promise<void>((resolve) => exporter.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The observability bench's Prometheus: like test/support/prometheus.ts (a real Prometheus scraping
// a local exporter every second) but with an hour of the dashboard series' past loaded first
// (promtool tsdb create-blocks-from openmetrics), so a dashboard's range queries read real history
// rather than the minute since start.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PROMETHEUS, type ScrapedPrometheus } from '../test/support/prometheus.ts';
import { freePort } from '../test/support/server.ts';
import { dashboardHistory } from './observability-exporter.ts';

const PROMTOOL = process.env.IDP_PROMTOOL_PATH ?? join(dirname(PROMETHEUS), 'promtool');

export const HISTORY_SECONDS = 3600;
const HISTORY_STEP = 15;

export async function startPrometheusWithHistory(exposition: () => string): Promise<ScrapedPrometheus> {
  const exporter: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(exposition());
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  const instance = `127.0.0.1:${(exporter.address() as { port: number }).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'idp-prom-bench-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  // The past up to a few seconds ago, as the scrapes of this exporter would have stored it.
  const now = Math.floor(Date.now() / 1000);
  const history = join(dir, 'history.om');
  writeFileSync(
    history,
    dashboardHistory(now - HISTORY_SECONDS, now - 5, HISTORY_STEP, `job="workloads",instance="${instance}"`),
  );
  await promisify(execFile)(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', history, data], {
    maxBuffer: 16 * 1024 * 1024,
  });
  rmSync(history);
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
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      exporter.closeAllConnections();
      await new Promise<void>((resolve) => exporter.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

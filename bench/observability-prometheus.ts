// The observability bench's Prometheus: test/support/prometheus.ts's (a real Prometheus scraping
// a local exporter every second) with an hour of the dashboard series' past loaded first
// (promtool tsdb create-blocks-from openmetrics), so a dashboard's range queries read real history
// rather than the minute since start.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PROMETHEUS, startScrapedPrometheus, type ScrapedPrometheus } from '../test/support/prometheus.ts';
import { dashboardHistory } from './observability-exporter.ts';

const PROMTOOL = process.env.IDP_PROMTOOL_PATH ?? join(dirname(PROMETHEUS), 'promtool');

export const HISTORY_SECONDS = 3600;
const HISTORY_STEP = 15;

export function startPrometheusWithHistory(exposition: () => string): Promise<ScrapedPrometheus> {
  return startScrapedPrometheus(exposition, {
    dirPrefix: 'idp-prom-bench-',
    async seed(dir, data, instance) {
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
    },
  });
}

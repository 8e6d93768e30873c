// The managed Prometheus's prometheus.yml: pure generation, no files or processes.
import { join } from 'node:path';
import { stringify } from 'yaml';

/** The labels idp stamps on every workload series; a workload's own values for them never survive. */
export const STAMPED_LABELS = ['team', 'service', 'env', 'namespace', 'release'] as const;

export interface PrometheusConfigInput {
  /** Global scrape (and evaluation) interval, e.g. `15s`. */
  scrapeInterval: string;
  /** host:port of the control plane, whose /metrics is job `idp`. */
  controlPlane: string;
  /** The file holding the scrape token Prometheus presents to the control plane. */
  scrapeTokenFile: string;
  /** <data-dir>/prometheus: file_sd files are read from its targets/ folder. */
  dir: string;
}

/** Where the workloads' file_sd files go: one `<namespace>.json` per namespace. */
export function targetsDir(dir: string): string {
  return join(dir, 'targets');
}

/**
 * Job `idp` trusts the control plane's own labels (honor_labels: true); job `workloads` does not:
 * a series a replica exposes with `team="…"` is renamed `exported_team` by Prometheus, the target's
 * label wins, and the renamed copy is dropped, so a workload cannot claim another team's labels.
 */
export function prometheusConfig(input: PrometheusConfigInput): Record<string, unknown> {
  return {
    global: { scrape_interval: input.scrapeInterval, evaluation_interval: input.scrapeInterval },
    scrape_configs: [
      {
        job_name: 'idp',
        honor_labels: true,
        metrics_path: '/metrics',
        authorization: { type: 'Bearer', credentials_file: input.scrapeTokenFile },
        static_configs: [{ targets: [input.controlPlane] }],
      },
      {
        job_name: 'workloads',
        honor_labels: false,
        // Each target names its path (deploy.yaml metrics.path) with the __metrics_path__ label.
        file_sd_configs: [{ files: [join(targetsDir(input.dir), '*.json')], refresh_interval: '5s' }],
        metric_relabel_configs: [{ action: 'labeldrop', regex: `exported_(${STAMPED_LABELS.join('|')})` }],
      },
    ],
  };
}

/** prometheus.yml as text. */
export function prometheusConfigYaml(input: PrometheusConfigInput): string {
  return `# Written by idp at every start; edits are overwritten.\n${stringify(prometheusConfig(input))}`;
}

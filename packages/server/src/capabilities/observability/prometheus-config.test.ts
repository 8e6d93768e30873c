import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prometheusConfigYaml } from './prometheus-config.ts';

interface Job {
  job_name: string;
  honor_labels: boolean;
  metrics_path?: string;
  authorization?: { type: string; credentials_file: string };
  static_configs?: Array<{ targets: string[] }>;
  file_sd_configs?: Array<{ files: string[] }>;
  metric_relabel_configs?: Array<{ action: string; regex: string }>;
}

const config = parse(
  prometheusConfigYaml({
    scrapeInterval: '1s',
    controlPlane: '127.0.0.1:40123',
    scrapeTokenFile: '/data/prometheus/scrape.token',
    dir: '/data/prometheus',
  }),
) as { global: { scrape_interval: string }; scrape_configs: Job[] };
const job = (name: string) => config.scrape_configs.find((j) => j.job_name === name)!;

describe('prometheus.yml', () => {
  it('scrapes at the configured interval, with exactly the idp and workloads jobs', () => {
    expect(config.global.scrape_interval).toBe('1s');
    expect(config.scrape_configs.map((j) => j.job_name)).toEqual(['idp', 'workloads']);
  });

  it("job idp: the control plane's /metrics at its real address, with the scrape token, its own labels honoured", () => {
    expect(job('idp')).toMatchObject({
      honor_labels: true,
      metrics_path: '/metrics',
      authorization: { type: 'Bearer', credentials_file: '/data/prometheus/scrape.token' },
      static_configs: [{ targets: ['127.0.0.1:40123'] }],
    });
  });

  it('job workloads: file_sd targets, the workload labels not honoured, exported_ copies of the stamped labels dropped', () => {
    const workloads = job('workloads');
    expect(workloads.honor_labels).toBe(false);
    expect(workloads.file_sd_configs?.[0]?.files).toEqual(['/data/prometheus/targets/*.json']);
    expect(workloads.metric_relabel_configs).toEqual([
      { action: 'labeldrop', regex: 'exported_(team|service|env|namespace|release)' },
    ]);
    const dropped = new RegExp(`^(?:${workloads.metric_relabel_configs![0]!.regex})$`);
    for (const label of ['exported_team', 'exported_service', 'exported_env', 'exported_namespace', 'exported_release'])
      expect(label).toMatch(dropped);
    expect('exported_instance').not.toMatch(dropped);
    expect('team').not.toMatch(dropped);
  });
});

import { describe, expect, it } from 'vitest';
import { deploySpecJsonSchema, parseDeploySpec } from './index.ts';

const HEAD = `service: {name: payments-api, team: payments}
deploy:
  healthcheck: {path: /health}
`;

function parse(text: string) {
  return parseDeploySpec(text);
}

describe('deploy.yaml metrics:', () => {
  it('is optional: without it the spec has no metrics', () => {
    const result = parse(`${HEAD}run: {command: node server.js}\n`);
    expect(result.ok && result.spec.metrics).toBeUndefined();
  });

  it('defaults the path to /metrics and the port to the replica PORT (null)', () => {
    const result = parse(`${HEAD}run: {command: node server.js}\nmetrics: {}\n`);
    expect(result.ok && result.spec.metrics).toEqual({ path: '/metrics', port: null });
  });

  it('keeps a declared path and port with one replica', () => {
    const result = parse(`${HEAD}run: {command: node server.js, replicas: 1}\nmetrics: {path: /prom, port: 9100}\n`);
    expect(result.ok && result.spec.metrics).toEqual({ path: '/prom', port: 9100 });
  });

  it('refuses a fixed port for several replicas (they share the host network), at metrics.port with a hint', () => {
    const result = parse(`${HEAD}run: {command: node server.js}\nmetrics: {port: 9100}\n`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const problem = result.problems.find((p) => p.field === 'metrics.port');
    expect(problem?.message).toContain('2 replicas');
    expect(problem?.hint).toContain('run.replicas: 1');
  });

  it('refuses a path without a leading slash, a port out of range and unknown keys', () => {
    const result = parse(
      `${HEAD}run: {command: node server.js, replicas: 1}\nmetrics: {path: metrics, port: 70000, scheme: https}\n`,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.field).sort()).toEqual(['metrics.path', 'metrics.port', 'metrics.scheme']);
  });

  it('is in the JSON Schema with its documentation', () => {
    const schema = deploySpecJsonSchema() as {
      properties: Record<string, { description?: string; properties?: object }>;
    };
    expect(schema.properties.metrics?.description).toContain('Prometheus');
    expect(Object.keys(schema.properties.metrics?.properties ?? {})).toEqual(['path', 'port']);
  });
});

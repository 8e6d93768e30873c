import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyGet, serviceRepo, waitForDeployment, type ServiceRepo } from '../support/deploy.ts';
import { envServer } from '../support/env-server.ts';
import { storesAvailable } from '../support/environments.ts';
import { api, runCli, type TestServer } from '../support/server.ts';
import { canaryYaml, releaseTinyService } from '../support/tiny-service.ts';

// Traces on a real deployment: a tiny service in a sandboxed replica behind the real edge proxy.
// On /slow it waits, then exports one span with plain Node http to the endpoint and with the
// header the platform gave it (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS),
// as a child of the traceparent the proxy sent, claiming to be users-api of team identity in its
// resource attributes. alice (payments) sees the slow request with the workload's span under the
// proxy's; dave (identity) gets the same empty answer as for a service that does not exist.

const ok = await storesAvailable();

const TRACING_SERVER_JS = `const http = require('http');
const crypto = require('crypto');
const endpoint = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
const authorization = (process.env.OTEL_EXPORTER_OTLP_HEADERS || '').replace(/^authorization=/, '');
const nanos = () => String(BigInt(Date.now()) * 1000000n);
function exportSpan(traceparent, start, done) {
  const parts = String(traceparent || '').split('-');
  const claim = (key, value) => ({ key, value: { stringValue: value } });
  const body = JSON.stringify({ resourceSpans: [{
    resource: { attributes: [claim('service.name', 'users-api'), claim('team', 'identity')] },
    scopeSpans: [{ scope: { name: 'tiny' }, spans: [{
      traceId: parts[1], spanId: crypto.randomBytes(8).toString('hex'), parentSpanId: parts[2],
      name: 'charge card', kind: 1, startTimeUnixNano: start, endTimeUnixNano: nanos(),
      attributes: [{ key: 'payment.amount', value: { intValue: '42' } }, claim('service.name', 'users-api')],
      status: { code: 1 },
    }] }],
  }] });
  const req = http.request(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', authorization } }, (res) => {
    let text = '';
    res.on('data', (d) => (text += d));
    res.on('end', () => done(res.statusCode, text));
  });
  req.on('error', (err) => done(0, err.message));
  req.end(body);
}
http.createServer((q, s) => {
  s.setHeader('content-type', 'application/json');
  if (q.url.startsWith('/slow')) {
    const start = nanos();
    setTimeout(() => exportSpan(q.headers.traceparent, start, (status, text) => s.end(JSON.stringify({ exported: status, text }))), 250);
    return;
  }
  s.end(JSON.stringify({ version: process.env.IDP_RELEASE_VERSION }));
}).listen(process.env.PORT);
`;

describe.skipIf(!ok)('traces: the proxy span, the workload span under it, scoping, idp traces', () => {
  let server: TestServer;
  let t: Record<string, string>;
  let repo: ServiceRepo;
  let env: string;
  let version: string;
  let traceId: string;
  const port = () => server.services.deployments.service.proxyPort;
  const cli = (args: string[], token = t.alice!) => runCli(args, { IDP_URL: server.url, IDP_TOKEN: token });
  const list = (token: string, service = 'payments-api', extra = '') =>
    api(server, token, 'GET', `/api/observability/traces?service=${service}&env=${env}${extra}`);

  const setup = envServer({ users: ['alice', 'dave'], label: 'traces' });

  beforeAll(async () => {
    ({ server, tokens: t, env } = setup);
    repo = serviceRepo({ prefix: 'idp-traces-repo-' });
    const released = await releaseTinyService(server, t.alice!, repo, canaryYaml('    - weight: 100'), {
      serverJs: TRACING_SERVER_JS,
    });
    expect(released.status).toBe(201);
    version = released.json.version;
    const res = await api(server, t.alice!, 'POST', '/api/deployments', { service: 'payments-api', env, version });
    expect(res.status, res.text).toBe(202);
    expect((await waitForDeployment(server, t.alice!, res.json.id)).status).toBe('healthy');
    const host = `payments-api.${env}-alice.localhost`;
    const slow = await proxyGet(port(), host, '/slow?card=4111111111111111');
    expect(slow.status).toBe(200);
    expect(JSON.parse(slow.body)).toEqual({ exported: 200, text: '{}' });
    for (let i = 0; i < 3; i++) expect((await proxyGet(port(), host, '/fast')).status).toBe(200);
  }, 120_000);

  afterAll(() => repo?.remove());

  it("alice sees the slow request: the proxy's span, stamped, path without the query, two spans in the trace", async () => {
    const res = await list(t.alice!, 'payments-api', '&minDuration=200ms');
    expect(res.status, res.text).toBe(200);
    expect(res.json.stamp).toEqual({ team: 'payments', service: 'payments-api', env, namespace: `${env}-alice` });
    expect(res.json.traces).toHaveLength(1);
    const [slow] = res.json.traces;
    expect(slow).toMatchObject({ method: 'GET', path: '/slow', status: 200, release: version, replica: '1', spans: 2 });
    expect(slow.durationMs).toBeGreaterThanOrEqual(250);
    expect(slow.traceId).toMatch(/^[0-9a-f]{32}$/);
    traceId = slow.traceId;
    const all = await list(t.alice!, 'payments-api', '&order=recent');
    expect(all.json.traces.map((x: any) => x.path)).toEqual(['/fast', '/fast', '/fast', '/slow']);
  });

  it("gives the trace as a tree: the workload's span under the proxy's, stamped as itself", async () => {
    const res = await api(
      server,
      t.alice!,
      'GET',
      `/api/observability/traces/${traceId}?service=payments-api&env=${env}`,
    );
    expect(res.status, res.text).toBe(200);
    const spans: any[] = res.json.spans;
    expect(spans.map((s) => [s.depth, s.name, s.source, s.release])).toEqual([
      [0, 'GET /slow', 'proxy', version],
      [1, 'charge card', 'workload', version],
    ]);
    expect(spans[1].parentSpanId).toBe(spans[0].spanId);
    expect(spans[1].attributes).toEqual({ 'payment.amount': 42, 'otel.dropped_attributes_count': 1 });
    expect(spans[1].status).toBe('ok');
    expect(spans[1].durationMs).toBeGreaterThanOrEqual(240);
    // What it claimed is nowhere: users-api has no traces, even for an admin.
    expect((await list(server.adminToken, 'users-api')).json.traces).toEqual([]);
    expect((await list(server.adminToken)).json.traces.length).toBe(4);
  });

  it('dave gets the same empty answer as for a service that does not exist', async () => {
    const denied = await list(t.dave!);
    const ghost = await list(t.dave!, 'ghost-api');
    expect(denied.status).toBe(200);
    expect(denied.json).toEqual({ ...ghost.json, stamp: { ...ghost.json.stamp, service: 'payments-api' } });
    expect(denied.json.traces).toEqual([]);
    const tree = await api(
      server,
      t.dave!,
      'GET',
      `/api/observability/traces/${traceId}?service=payments-api&env=${env}`,
    );
    expect(tree.json.spans).toEqual([]);
  });

  it('idp traces prints the slow requests and, with --trace, the span tree with bars', async () => {
    const table = await cli(['traces', 'payments-api', '--env', env, '--min', '200ms']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^DURATION\s+STATUS\s+METHOD\s+PATH\s+RELEASE\s+REPLICA\s+SPANS\s+STARTED\s+TRACE$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      new RegExp(`^\\d+ ms\\s+200\\s+GET\\s+/slow\\s+${version}\\s+1\\s+2\\s+\\S+\\s+${traceId}$`),
    );
    const tree = await cli(['traces', 'payments-api', '--env', env, '--trace', traceId]);
    expect(tree.code, tree.stderr).toBe(0);
    const [head, proxyLine, workloadLine] = tree.stdout.trim().split('\n');
    expect(head).toContain(`trace ${traceId} (payments-api in ${env},`);
    expect(proxyLine).toMatch(/^GET \/slow\s+\|█+ *\|\s+\d+ ms {2}proxy /);
    expect(workloadLine).toMatch(/^ {2}charge card\s+\| *█+ *\|\s+\d+ ms {2}workload /);
    const json = await cli(['traces', 'payments-api', '--env', env, '-o', 'json']);
    expect(JSON.parse(json.stdout).traces).toHaveLength(4);
    const none = await cli(['traces', 'payments-api', '--env', env], t.dave!);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('No requests of payments-api');
    const bad = await cli(['traces', 'payments-api', '--env', env, '--trace', 'xyz']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('32 hex digits');
  });
});

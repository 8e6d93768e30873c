import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchersOpen } from '../../packages/server/src/capabilities/observability/index.ts';
import { proxyGet, serviceRepo, waitForDeployment, type ServiceRepo } from '../support/deploy.ts';
import { envServer } from '../support/env-server.ts';
import { storesAvailable } from '../support/environments.ts';
import { api, CLI_BIN, ROOT, runCli, type TestServer } from '../support/server.ts';
import { canaryYaml, releaseTinyService } from '../support/tiny-service.ts';

// `idp logs` and GET /api/observability/logs on a real deployment: a tiny service that writes a
// plain line when it starts and a JSON line per /log request, in a sandboxed replica behind the
// real edge proxy. alice (payments) reads its logs; dave (identity) gets an empty answer, the
// same as for a service that does not exist; a follower sees new lines within a second, and
// leaves no watcher behind when it disconnects.

const ok = await storesAvailable();

const LOGGING_SERVER_JS = `const http = require('http');
console.log('plain start line of ' + process.env.IDP_RELEASE_VERSION);
http.createServer((q, s) => {
  const u = new URL(q.url, 'http://x');
  if (u.pathname === '/log') console.log(JSON.stringify({ level: u.searchParams.get('level') || 'info', msg: u.searchParams.get('msg') }));
  s.setHeader('content-type', 'application/json');
  s.end(JSON.stringify({ version: process.env.IDP_RELEASE_VERSION }));
}).listen(process.env.PORT);
`;

interface Sse {
  events: any[];
  comments: number;
  close(): void;
  done: Promise<void>;
}

/** A follower over HTTP: collects every `data:` event until closed. */
async function follow(url: string, token: string): Promise<Sse> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const sse: Sse = { events: [], comments: 0, close: () => abort.abort(), done: Promise.resolve() };
  sse.done = (async () => {
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of res.body!) {
        pending += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (block.startsWith(':')) sse.comments++;
          else if (block.startsWith('data: ')) sse.events.push(JSON.parse(block.slice(6)));
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return sse;
}

describe.skipIf(!ok)('replica logs: idp logs, the API, scoping and follow', () => {
  let server: TestServer;
  let t: Record<string, string>;
  let repo: ServiceRepo;
  let env: string;
  let host: string;
  let version: string;
  const port = () => server.services.deployments.service.proxyPort;
  const cli = (args: string[], token = t.alice!) => runCli(args, { IDP_URL: server.url, IDP_TOKEN: token });
  const logsPath = (extra = '') => `/api/observability/logs?service=payments-api&env=${env}${extra}`;

  const setup = envServer({ users: ['alice', 'dave'], label: 'logs' });

  beforeAll(async () => {
    ({ server, tokens: t, env } = setup);
    host = `payments-api.${env}-alice.localhost`;
    repo = serviceRepo({ prefix: 'idp-logs-repo-' });
    const released = await releaseTinyService(server, t.alice!, repo, canaryYaml('    - weight: 100'), {
      serverJs: LOGGING_SERVER_JS,
    });
    expect(released.status).toBe(201);
    version = released.json.version;
    const res = await api(server, t.alice!, 'POST', '/api/deployments', { service: 'payments-api', env, version });
    expect(res.status, res.text).toBe(202);
    const done = await waitForDeployment(server, t.alice!, res.json.id);
    expect(done.status).toBe('healthy');
    for (const msg of ['hello one', 'hello two'])
      expect((await proxyGet(port(), host, `/log?level=warn&msg=${encodeURIComponent(msg)}`)).status).toBe(200);
  }, 120_000);

  afterAll(() => repo?.remove());

  it("alice reads her service's logs through the API in Loki's streams shape, JSON lines labelled by level", async () => {
    const res = await api(server, t.alice!, 'GET', logsPath());
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ status: 'success', data: { resultType: 'streams' } });
    const streams: any[] = res.json.data.result;
    const plain = streams.find((s) => s.stream.level === undefined)!;
    expect(plain.stream).toEqual({
      team: 'payments',
      service: 'payments-api',
      env,
      namespace: `${env}-alice`,
      release: version,
      replica: '1',
    });
    expect(plain.values.map((v: string[]) => v[1])).toContain(`plain start line of ${version}`);
    const warn = streams.find((s) => s.stream.level === 'warn')!;
    expect(warn.values.map((v: string[]) => JSON.parse(v[1]!).msg)).toEqual(['hello two', 'hello one']);
    for (const stream of streams) {
      for (const [ns] of stream.values) {
        expect(ns).toMatch(/^\d{19}$/);
        expect(Math.abs(Number(BigInt(ns) / 1_000_000n) - Date.now())).toBeLessThan(600_000);
      }
    }
    const grep = await api(server, t.alice!, 'GET', logsPath('&grep=hello%20two&limit=5&replica=1'));
    expect(grep.json.data.result.flatMap((s: any) => s.values.map((v: string[]) => v[1]))).toEqual([
      '{"level":"warn","msg":"hello two"}',
    ]);
    const tooMany = await api(server, t.alice!, 'GET', logsPath('&limit=5001'));
    expect(tooMany.status).toBe(400);
  });

  it('idp logs prints `<time> <release> r<N> <line>` oldest first, and -o json the Loki object', async () => {
    const text = await cli(['logs', 'payments-api', '--env', env]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    const iso = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^${iso} ${version} r1 plain start line of ${version}$`)),
    );
    expect(lines.at(-1)).toMatch(new RegExp(`^${iso} ${version} r1 \\{"level":"warn","msg":"hello two"\\}$`));
    expect(text.stdout).not.toContain('\x1b[');
    const json = await cli(['logs', 'payments-api', '--env', env, '--grep', 'hello', '-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.status).toBe('success');
    expect(parsed.data.result[0].stream).toMatchObject({ service: 'payments-api', level: 'warn' });
  });

  it("dave (identity) gets an empty answer for payments' service, exactly as for a service that does not exist", async () => {
    const empty = { status: 'success', data: { resultType: 'streams', result: [] } };
    const denied = await api(server, t.dave!, 'GET', logsPath());
    expect(denied.status).toBe(200);
    expect(denied.json).toEqual(empty);
    const unknown = await api(server, t.alice!, 'GET', `/api/observability/logs?service=no-such-service&env=${env}`);
    expect(unknown.json).toEqual(empty);
    const cliDenied = await cli(['logs', 'payments-api', '--env', env], t.dave!);
    expect(cliDenied.code, cliDenied.stderr).toBe(0);
    expect(cliDenied.stdout).toBe('');
    expect(cliDenied.stderr).toContain('No log lines of payments-api');
    const baseline = watchersOpen();
    const sse = await follow(`${server.url}${logsPath('&follow=true')}`, t.dave!);
    expect(watchersOpen()).toBe(baseline);
    sse.close();
    await sse.done;
    expect(sse.events).toEqual([]);
  });

  it('a follower gets the recent lines, then each new line within a second; disconnecting leaves no watcher', async () => {
    const baseline = watchersOpen();
    const sse = await follow(`${server.url}${logsPath('&follow=true&limit=2')}`, t.alice!);
    await expect.poll(() => sse.events.length).toBe(2);
    expect(server.services.logs.followers()).toBe(1);
    expect(watchersOpen()).toBeGreaterThan(baseline);
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const msg = `follow ${i} ${Math.random()}`;
      const started = performance.now();
      await proxyGet(port(), host, `/log?msg=${encodeURIComponent(msg)}`);
      await expect
        .poll(() => sse.events.some((e) => e.streams[0].values[0][1].includes(msg)), { timeout: 2000, interval: 5 })
        .toBe(true);
      delays.push(performance.now() - started);
    }
    delays.sort((a, b) => a - b);
    const p95 = delays[Math.ceil(delays.length * 0.95) - 1]!;
    console.log(
      `log follow delay over ${delays.length} lines: p50 ${delays[delays.length / 2]!.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${delays.at(-1)!.toFixed(1)} ms`,
    );
    expect(p95).toBeLessThan(1000);
    const event = sse.events.at(-1);
    expect(event.streams[0].stream).toMatchObject({
      service: 'payments-api',
      release: version,
      replica: '1',
      level: 'info',
    });

    sse.close();
    await sse.done;
    await expect.poll(() => server.services.logs.followers()).toBe(0);
    expect(watchersOpen()).toBe(baseline);
  });

  it('idp logs --follow prints lines as they come until Ctrl-C, then exits 0', async () => {
    const child = spawn(process.execPath, [CLI_BIN, 'logs', 'payments-api', '--env', env, '--follow', '--limit', '1'], {
      cwd: ROOT,
      env: { ...process.env, IDP_URL: server.url, IDP_TOKEN: t.alice!, IDP_CONFIG_DIR: '/nonexistent-idp-config' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await expect.poll(() => stdout.split('\n').length, { timeout: 10_000 }).toBeGreaterThan(1);
    await proxyGet(port(), host, '/log?msg=seen%20by%20the%20cli');
    await expect.poll(() => stdout, { timeout: 5000 }).toContain('{"level":"info","msg":"seen by the cli"}');
    expect(stdout).toMatch(new RegExp(`Z ${version} r1 \\{"level":"info","msg":"seen by the cli"\\}\\n$`));
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(0);
    await expect.poll(() => server.services.logs.followers()).toBe(0);
  });
  it("a rollout that fails keeps the failing replica's last 20 log lines, and idp deploy:status --watch prints them", async () => {
    const crashing = `for (let i = 1; i <= 30; i++) console.log('boot line ' + i);\nconsole.error('fatal: cannot open the ledger');\nprocess.exit(1);\n`;
    const released = await releaseTinyService(server, t.alice!, repo, canaryYaml('    - weight: 100'), {
      serverJs: crashing,
    });
    expect(released.status).toBe(201);
    const res = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env,
      version: released.json.version,
    });
    expect(res.status, res.text).toBe(202);
    const dep = await waitForDeployment(server, t.alice!, res.json.id);
    expect(dep.status).toBe('rolled_back');
    expect(dep.logTail).toMatchObject({ release: released.json.version, replica: 1 });
    expect(dep.logTail.lines).toHaveLength(20);
    expect(dep.logTail.lines).toContain('fatal: cannot open the ledger');
    expect(dep.logTail.lines.join('\n')).not.toMatch(/^\d{4}-\d\d-\d\dT/m);
    const shown = await cli(['deploy:status', dep.id, '--watch']);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain(`Last 20 log lines of replica 1 (${released.json.version}):`);
    expect(shown.stderr).toContain('  │ fatal: cannot open the ledger');
    expect(shown.stderr).toContain(
      `More: idp logs payments-api --env=${env} --release=${released.json.version} --replica=1`,
    );
  }, 60_000);
});

import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deployYaml,
  serviceArchive,
  startHostileServer,
  uploadRelease,
  type HostileServer,
} from '../support/security.ts';
import { ACME_CONFIG, api } from '../support/server.ts';
import { waitForDeployment } from '../support/deploy.ts';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';

/**
 * Issue 10, item 3: builds and workloads ran as the control plane's own user. Now a build runs
 * as its team's user and a replica as its namespace's user, each in a bubblewrap sandbox that
 * sees its release, its scratch space and the network only. Attacks, each failing: a build that
 * prints master.key, admin-token and idp.sqlite; a replica (payments) that reads the data dir,
 * the control plane's /proc environ, another team's replica's environment (identity's users-api
 * in the same environment, with a secret), kills that replica and writes into its own and the
 * other's release. Without bubblewrap builds and deploys are refused with
 * RUNTIME_ISOLATION_UNAVAILABLE; `runtime.isolation: none` runs them and warns.
 */

const ok = await storesAvailable();

/** A replica that reports what it could do: /read, /write, /kill, /self. */
const PROBE_JS = `const http = require('node:http');
const fs = require('node:fs');
const attempt = (fn) => { try { const v = fn(); return { ok: true, value: v === undefined ? null : String(v).slice(0, 300) }; } catch (e) { return { ok: false, code: e.code || e.message }; } };
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const p = u.searchParams.get('path') || '';
  let out = { ok: true };
  if (u.pathname === '/read') out = attempt(() => fs.readFileSync(p, 'latin1'));
  if (u.pathname === '/list') out = attempt(() => fs.readdirSync(p).join(','));
  if (u.pathname === '/write') out = attempt(() => fs.writeFileSync(p, 'pwned'));
  if (u.pathname === '/kill') out = attempt(() => process.kill(Number(u.searchParams.get('pid')), 'SIGKILL'));
  if (u.pathname === '/self') out = { uid: process.getuid(), pids: fs.readdirSync('/proc').filter((x) => /^[0-9]+$/.test(x)).map(Number), root: fs.readdirSync('/').sort(), env: process.env };
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(out));
}).listen(Number(process.env.PORT));
`;

function viaProxy(port: number, host: string, path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${res.statusCode} ${body}`));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Host pids (seen from here, as root) of the node processes of this release (by their IDP_SERVICE and IDP_RELEASE_VERSION). */
function hostPidsOf(service: string, version: string): Array<{ pid: number; uid: number }> {
  const found: Array<{ pid: number; uid: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'node') continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (!env.includes(`IDP_SERVICE=${service}`) || !env.includes(`IDP_RELEASE_VERSION=${version}`)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))![1]);
      found.push({ pid: Number(entry), uid });
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

describe.skipIf(!ok)('security 03: builds and workloads are isolated from the control plane and each other', () => {
  let fx: EnvFixture;
  let server: HostileServer;
  let alice = '';
  let dave = '';
  let proxyPort = 0;
  const IDENTITY_SECRET = `identity-secret-${Math.random().toString(36).slice(2)}`;
  const versions: Record<string, string> = {};
  const repos: string[] = [];

  const deploy = async (token: string, service: string, team: string, build?: string) => {
    const archive = serviceArchive({ '.idp/deploy.yaml': deployYaml(service, team, build), 'server.js': PROBE_JS });
    repos.push(archive.repo);
    const up = await uploadRelease(server, token, service, archive.commit, archive.tar);
    expect([200, 201], up.text).toContain(up.status);
    const dep = await api(server, token, 'POST', '/api/deployments', {
      service,
      env: 'staging',
      version: up.json.version,
    });
    expect(dep.status, dep.text).toBe(202);
    const d = await waitForDeployment(server, token, dep.json.id);
    if (d.status !== 'healthy') throw new Error(JSON.stringify(d));
    proxyPort = Number(new URL(d.url).port);
    versions[service] = up.json.version;
    return up.json;
  };
  const payments = (path: string) => viaProxy(proxyPort, 'payments-api.staging.localhost', path);
  const users = (path: string) => viaProxy(proxyPort, 'users-api.staging.localhost', path);

  beforeAll(async () => {
    fx = envFixture();
    server = await startHostileServer({ args: ['--config', fx.configPath] });
    alice = await server.tokenFor('alice');
    dave = await server.tokenFor('dave');
    const set = await fetch(`${server.url}/api/secrets/staging/users-api/INTERNAL_TOKEN`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${dave}`, 'content-type': 'application/json' },
      body: JSON.stringify({ value: IDENTITY_SECRET }),
    });
    expect(set.status, await set.text()).toBeLessThan(300);
    await deploy(dave, 'users-api', 'identity');
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await fx?.cleanup();
    for (const repo of repos) rmSync(repo, { recursive: true, force: true });
  });

  it('a build command cannot read master.key, admin-token or idp.sqlite, and gets no secrets', async () => {
    const d = server.dataDir;
    const build = `id -u; cat ${d}/master.key ${d}/admin-token; head -c 64 ${d}/idp.sqlite; ls ${d}; ls ${d}/releases; cat /proc/*/environ; env; echo build-done`;
    const archive = serviceArchive({
      '.idp/deploy.yaml': deployYaml('payments-api', 'payments', build),
      'server.js': PROBE_JS,
    });
    repos.push(archive.repo);
    const up = await uploadRelease(server, alice, 'payments-api', archive.commit, archive.tar);
    expect(up.status, up.text).toBe(201);
    const output: string = up.json.buildOutput;
    expect(output).toContain('build-done');
    expect(Number(output.split('\n')[0])).toBeGreaterThanOrEqual(200_000);
    expect(output).toContain('No such file or directory');
    for (const file of ['master.key', 'admin-token', 'audit.key']) {
      const content = (() => {
        try {
          return readFileSync(join(d, file), 'utf8').trim();
        } catch {
          return null;
        }
      })();
      if (content) expect(up.text).not.toContain(content);
    }
    expect(up.text).not.toContain(server.adminToken);
    expect(up.text).not.toContain('SQLite format 3');
    expect(up.text).not.toContain('sk_test_acme');
    expect(up.text).not.toContain(IDENTITY_SECRET);
    // The release is sealed for its replicas: root's, nobody else may write it.
    const dir = join(d, 'releases', 'payments-api', up.json.version);
    for (const path of [dir, join(dir, 'server.js')]) {
      const st = statSync(path);
      expect([st.uid, st.mode & 0o022]).toEqual([0, 0]);
    }
    expect(await server.alive()).toBe(true);
  }, 60_000);

  it("a replica sees neither the data dir, nor the control plane, nor another team's replica, and cannot write or kill", async () => {
    await deploy(alice, 'payments-api', 'payments');
    const self = await payments('/self');
    const other = hostPidsOf('users-api', versions['users-api']!);
    expect(other.length).toBeGreaterThan(0);
    // Both run as their namespace's user, not root; the replica's view is its sandbox.
    expect(self.uid).toBeGreaterThanOrEqual(200_000);
    for (const p of other) expect(p.uid).toBeGreaterThanOrEqual(200_000);
    expect(self.root).not.toContain('root');
    expect(self.env.STRIPE_KEY).toMatch(/^sk_test_acme/);
    expect(self.env.INTERNAL_TOKEN).toBeUndefined();
    expect(self.env.IDP_ADMIN_TOKEN).toBeUndefined();
    expect(Math.max(...self.pids)).toBeLessThan(50);

    const d = server.dataDir;
    for (const file of ['master.key', 'admin-token', 'idp.sqlite', 'audit.key']) {
      const read = await payments(`/read?path=${encodeURIComponent(join(d, file))}`);
      expect(read).toMatchObject({ ok: false, code: 'ENOENT' });
    }
    expect(await payments(`/list?path=${encodeURIComponent(d)}`)).toMatchObject({ ok: false, code: 'ENOENT' });
    // The control plane's environment, and the other team's replica's (its secret), by host pid.
    for (const pid of [server.child.pid!, ...other.map((p) => p.pid)]) {
      const read = await payments(`/read?path=/proc/${pid}/environ`);
      expect(read.ok).toBe(false);
      expect(JSON.stringify(read)).not.toContain(IDENTITY_SECRET);
      expect(await payments(`/kill?pid=${pid}`)).toMatchObject({ ok: false, code: 'ESRCH' });
    }
    // PID 1 of its own sandbox is bubblewrap, root's: neither its environment nor a signal.
    expect(await payments('/read?path=/proc/1/environ')).toMatchObject({ ok: false, code: 'EACCES' });
    expect(await payments('/kill?pid=1')).toMatchObject({ ok: false, code: 'EPERM' });
    // Its own release is read-only; the other's is not there at all.
    expect(await payments('/write?path=/app/server.js')).toMatchObject({ ok: false, code: 'EROFS' });
    const otherRelease = join(d, 'releases', 'users-api', versions['users-api']!, 'server.js');
    expect(await payments(`/write?path=${encodeURIComponent(otherRelease)}`)).toMatchObject({
      ok: false,
      code: 'ENOENT',
    });
    expect(readFileSync(otherRelease, 'utf8')).toBe(PROBE_JS);
    expect(readFileSync(join(d, 'releases', 'payments-api', versions['payments-api']!, 'server.js'), 'utf8')).toBe(
      PROBE_JS,
    );

    // The other replica kept running with its secret, which only it has.
    const still = await users('/self');
    expect(still.env.INTERNAL_TOKEN).toBe(IDENTITY_SECRET);
    expect(hostPidsOf('users-api', versions['users-api']!).map((p) => p.pid)).toEqual(other.map((p) => p.pid));
    // And nobody else can read a replica's environment from the host's /proc either: mode and owner.
    const st = statSync(`/proc/${other[0]!.pid}/environ`);
    expect([st.uid, st.mode & 0o077]).toEqual([other[0]!.uid, 0]);
    expect(await server.alive()).toBe(true);
  }, 90_000);

  it("an environment's namespace gets its own user with env:create, owning its scratch space (0700), gone with env:delete", async () => {
    const name = fx.envName('iso');
    expect((await api(server, alice, 'POST', '/api/environments', { name, from: 'cache' })).status).toBe(202);
    const ready = await waitForEnvironment(server, alice, name);
    const nsDir = join(server.dataDir, 'namespaces', ready.resources.namespace);
    const scratch = statSync(join(nsDir, 'scratch'));
    const stagingScratch = statSync(join(server.dataDir, 'namespaces', 'staging', 'scratch'));
    expect(scratch.uid).toBeGreaterThanOrEqual(200_000);
    expect([scratch.gid, scratch.mode & 0o777]).toEqual([scratch.uid, 0o700]);
    // Not the user of another namespace (staging's replicas above), nor a build user.
    expect(scratch.uid).not.toBe(stagingScratch.uid);
    expect((await api(server, alice, 'DELETE', `/api/environments/${name}`)).status).toBeLessThan(300);
    await expect.poll(() => existsSync(nsDir), { timeout: 30_000, interval: 100 }).toBe(false);
    const store = new Sqlite(join(server.dataDir, 'idp.sqlite'), { readonly: true });
    try {
      const rows = store
        .prepare('SELECT uid, removed_at FROM runtime_users WHERE kind = ? AND name = ?')
        .all('namespace', ready.resources.namespace) as Array<{ uid: number; removed_at: string | null }>;
      expect(rows.map((r) => r.uid)).toEqual([scratch.uid]);
      expect(rows[0]!.removed_at).not.toBeNull();
    } finally {
      store.close();
    }
  }, 60_000);

  it("the data dir is the control plane's alone: 0700, its files 0600", () => {
    expect(statSync(server.dataDir).mode & 0o777).toBe(0o700);
    for (const file of ['master.key', 'admin-token', 'idp.sqlite'])
      expect(statSync(join(server.dataDir, file)).mode & 0o777).toBe(0o600);
  });
});

describe('security 03: without bubblewrap, builds and deploys are refused unless isolation is none', () => {
  let missing: HostileServer;
  let none: HostileServer;
  const config = join(dirname(ACME_CONFIG), `idp.isolation-none.${process.pid}.yaml`);

  beforeAll(async () => {
    writeFileSync(config, `${readFileSync(ACME_CONFIG, 'utf8')}\nruntime:\n  isolation: none\n`);
    // Both at once: a server start is most of this file's time.
    [missing, none] = await Promise.all([
      startHostileServer({ env: { IDP_BWRAP_PATH: '/nonexistent/bwrap' } }),
      startHostileServer({ args: ['--config', config], env: { IDP_BWRAP_PATH: '/nonexistent/bwrap' } }),
    ]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([missing?.stop(), none?.stop()]);
    rmSync(config, { force: true });
  });

  const upload = async (server: HostileServer, build: string) => {
    const archive = serviceArchive({
      '.idp/deploy.yaml': deployYaml('payments-api', 'payments', build),
      'server.js': PROBE_JS,
    });
    try {
      return await uploadRelease(server, await server.tokenFor('alice'), 'payments-api', archive.commit, archive.tar);
    } finally {
      rmSync(archive.repo, { recursive: true, force: true });
    }
  };

  it('IDP_BWRAP_PATH at a missing binary: the server comes up, warns, and refuses with RUNTIME_ISOLATION_UNAVAILABLE', async () => {
    const server = missing;
    expect(server.output()).toContain('WARNING: workload isolation is unavailable');
    expect(server.output()).toContain('apt-get install -y bubblewrap');
    const up = await upload(server, 'echo should-not-run > ran.txt');
    expect([up.status, up.json.error.code]).toEqual([503, 'RUNTIME_ISOLATION_UNAVAILABLE']);
    expect(up.json.error.details.problem).toContain('/nonexistent/bwrap');
    expect(up.text).not.toContain('should-not-run\n');
    // Nothing of the refused release stays.
    const releases = join(server.dataDir, 'releases', 'payments-api');
    expect(existsSync(releases) ? readdirSync(releases) : []).toEqual([]);
    const dep = await api(server, await server.tokenFor('alice'), 'POST', '/api/deployments', {
      service: 'payments-api',
      env: 'staging',
      version: 'abcdef123456-abcdef123456',
    });
    expect([dep.status, dep.json.error.code]).toEqual([503, 'RUNTIME_ISOLATION_UNAVAILABLE']);
    expect(await server.alive()).toBe(true);
  }, 30_000);

  it('runtime.isolation: none runs builds as before and warns loudly at start', async () => {
    const server = none;
    expect(server.output()).toContain('WARNING: runtime.isolation is none');
    const up = await upload(server, 'id -u');
    expect(up.status, up.text).toBe(201);
    expect(up.json.buildOutput.trim()).toBe(String(process.getuid!()));
    expect(await server.alive()).toBe(true);
  }, 60_000);
});

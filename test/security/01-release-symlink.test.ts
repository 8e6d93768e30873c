import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/server.ts';
import {
  deployYaml,
  serviceArchive,
  startHostileServer,
  TINY_SERVER_JS,
  uploadRelease,
  type HostileServer,
} from '../support/security.ts';

// Issue 10, item 1: a release whose .idp/deploy.yaml is a symlink to the control plane's
// admin-token or master.key was read (and quoted in the error) before any permission check, for
// any service name. Now: the upload is authorized before a byte of the body is read, links are
// refused while unpacking (RELEASE_ARCHIVE_UNSAFE naming the entry), and nothing is kept.

const SERVER_JS = TINY_SERVER_JS;
const DEPLOY_YAML = deployYaml();

/** Everything under <data-dir>/releases, relative (the temporary upload folder included). */
function releaseFiles(dataDir: string): string[] {
  const root = join(dataDir, 'releases');
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true }) as string[]).filter((p) => p !== '.incoming');
}

describe("release archives cannot read the control plane's files (issue 10 item 1)", () => {
  let server: HostileServer;
  let alice: string;
  let dave: string;
  let secrets: string[];
  const repos: string[] = [];
  const archive = (files: Parameters<typeof serviceArchive>[0]) => {
    const a = serviceArchive(files);
    repos.push(a.repo);
    return a;
  };
  const leaksNothing = (text: string) => {
    for (const s of secrets) expect(text).not.toContain(s);
    expect(text).not.toContain('root:x:0:0');
  };

  beforeAll(async () => {
    server = await startHostileServer();
    [alice, dave] = await Promise.all([server.tokenFor('alice'), server.tokenFor('dave')]);
    secrets = ['admin-token', 'master.key'].map((f) => readFileSync(join(server.dataDir, f), 'utf8').trim());
    expect(secrets.every((s) => s.length >= 32)).toBe(true);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    for (const r of repos) rmSync(r, { recursive: true, force: true });
  });

  it('refuses deploy.yaml symlinked to admin-token or master.key, quoting none of it', async () => {
    for (const file of ['admin-token', 'master.key']) {
      const a = archive({ '.idp/deploy.yaml': { symlink: join(server.dataDir, file) }, 'server.js': SERVER_JS });
      const res = await uploadRelease(server, alice, 'payments-api', a.commit, a.tar);
      expect([res.status, res.json?.error?.code], res.text).toEqual([400, 'RELEASE_ARCHIVE_UNSAFE']);
      expect(res.json.error.details).toMatchObject({ entry: '.idp/deploy.yaml', reason: 'is a symbolic link' });
      expect(res.json.error.details.hint).toMatch(/regular files/);
      leaksNothing(res.text);
    }
    expect(releaseFiles(server.dataDir)).toEqual([]);
    expect(await server.alive()).toBe(true);
  });

  it('refuses a symlink anywhere in the tree (here to /etc/passwd), even with a valid deploy.yaml', async () => {
    const a = archive({
      '.idp/deploy.yaml': DEPLOY_YAML,
      'server.js': SERVER_JS,
      'docs/passwd': { symlink: '/etc/passwd' },
    });
    const res = await uploadRelease(server, alice, 'payments-api', a.commit, a.tar);
    expect([res.status, res.json?.error?.code], res.text).toEqual([400, 'RELEASE_ARCHIVE_UNSAFE']);
    expect(res.json.error.details.entry).toBe('docs/passwd');
    leaksNothing(res.text);
    expect(releaseFiles(server.dataDir)).toEqual([]);
    // The same tree without the link is a release: the refusal was the link, not the rest.
    const clean = archive({ '.idp/deploy.yaml': DEPLOY_YAML, 'server.js': SERVER_JS });
    const ok = await uploadRelease(server, alice, 'payments-api', clean.commit, clean.tar);
    expect(ok.status, ok.text).toBe(201);
  });

  it("refuses an unknown service and another team's service before reading the archive", async () => {
    const rm = (p: string) => rmSync(join(server.dataDir, 'releases', p), { recursive: true, force: true });
    rm('payments-api');
    const evil = archive({ '.idp/deploy.yaml': { symlink: join(server.dataDir, 'admin-token') } });

    const ghost = await uploadRelease(server, alice, 'ghost-api', evil.commit, evil.tar);
    expect([ghost.status, ghost.json?.error?.code], ghost.text).toEqual([400, 'DEPLOY_SERVICE_UNKNOWN']);
    const other = await uploadRelease(server, alice, 'users-api', evil.commit, evil.tar);
    expect([other.status, other.json?.error?.code], other.text).toEqual([403, 'POLICY_DENIED']);
    const backwards = await uploadRelease(server, dave, 'payments-api', evil.commit, Buffer.from('not a tar at all'));
    expect([backwards.status, backwards.json?.error?.code], backwards.text).toEqual([403, 'POLICY_DENIED']);
    for (const r of [ghost, other, backwards]) leaksNothing(r.text);
    expect(releaseFiles(server.dataDir)).toEqual([]);
    expect(
      existsSync(join(server.dataDir, 'releases', '.incoming'))
        ? readdirSync(join(server.dataDir, 'releases', '.incoming'))
        : [],
    ).toEqual([]);

    // The answer comes while the body is still being sent: the server did not wait to read it.
    const url = new URL(`${server.url}/api/releases?service=users-api&commit=${evil.commit}`);
    const early = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: 'POST',
          headers: {
            authorization: `Bearer ${alice}`,
            'content-type': 'application/x-tar',
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.write(evil.tar.subarray(0, 512)); // never ended
    });
    expect(early.status).toBe(403);
    expect(JSON.parse(early.body).error.code).toBe('POLICY_DENIED');

    const audit = await api(server, server.adminToken, 'GET', '/api/audit?action=deploy:create&decision=deny');
    expect(audit.json.items.some((r: any) => r.actor.includes('alice') && r.target === 'service:users-api')).toBe(true);
    expect(await server.alive()).toBe(true);
  });
});

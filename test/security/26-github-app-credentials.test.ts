import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GithubAppCredentials } from '../../packages/server/src/capabilities/previews/github-auth.ts';
import { GithubClient } from '../../packages/server/src/capabilities/previews/github-client.ts';
import { PreviewReports } from '../../packages/server/src/capabilities/previews/reports.ts';
import { acmeConfigWith } from '../support/config.ts';
import { startGithubFake, type GithubFake } from '../support/github-fake.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { tempSqliteStore } from '../support/sqlite.ts';
import { waitUntil } from '../support/wait.ts';

// A GitHub App's private key signs tokens that act on every repository the App is installed on,
// and the installation tokens it gets are as good as a user's. Neither the key, nor a JWT, nor an
// installation token may reach a log line, an error, the outbox or the audit log, and none may
// be sent anywhere but the configured API URL: GitHub (or anyone in between) answering with a
// redirect to another host gets the report refused, not the token forwarded.

const REPO = 'acme/payments';
const SHA = 'c'.repeat(40);
const APP_ID = 777;

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { pem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicKey };
}

describe('GitHub App credentials stay secret and go only to the configured API', () => {
  const app = keyPair();
  const wrong = keyPair();
  const dir = mkdtempSync(join(tmpdir(), 'idp-sec-app-'));
  const logs: string[] = [];
  const elsewhere: string[] = [];
  let other: Server;
  let otherUrl: string;
  let github: GithubFake;
  let server: TestServer;
  let config: string;
  let queue: PreviewReports;

  /** Every secret that was in play: the key's lines, every JWT and token GitHub saw or issued. */
  const secrets = () => [
    ...app.pem.split('\n').filter((l) => l.length > 40),
    ...wrong.pem.split('\n').filter((l) => l.length > 40),
    ...github.issued.map((t) => t.token),
    ...github.calls.map((c) => c.authorization?.replace(/^Bearer /, '') ?? '').filter((a) => a.length > 20),
  ];
  const reportRows = () => server.services.store.db.selectFrom('preview_reports').selectAll().execute();

  beforeAll(async () => {
    other = createServer((req, res) => {
      elsewhere.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":1}');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    github = await startGithubFake({ app: { appId: APP_ID, publicKey: app.publicKey, installations: { [REPO]: 9 } } });
    const keyFile = join(dir, 'app.pem');
    writeFileSync(keyFile, app.pem, { mode: 0o600 });
    config = acmeConfigWith('sec-github-app', ['previews'], {
      github: { apiUrl: github.url, app: { appId: APP_ID, privateKey: { file: keyFile } } },
      repositories: { [REPO]: { cloneUrl: 'file:///nonexistent/payments.git', team: 'payments' } },
    });
    server = await startTestServer({
      catalogTimer: false,
      environmentTimers: false,
      configPath: config,
      log: (l) => logs.push(l),
    });
    queue = new PreviewReports({
      db: server.services.store.db,
      client: null,
      clock: { now: () => new Date() },
      log: () => {},
    });
  });

  afterAll(async () => {
    await server?.stop();
    await github?.close();
    await new Promise<void>((resolve) => other?.close(() => resolve()));
    rmSync(config, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('a redirect to another host is not followed: the token is not sent there, the report waits and goes out later', async () => {
    await queue.enqueue(REPO, 1, 'status', SHA, { state: 'pending', targetUrl: null, description: 'first' });
    await waitUntil('the first status sent', async () => (await reportRows()).every((r) => r.status === 'sent'));
    github.setRedirect(otherUrl);
    await queue.enqueue(REPO, 1, 'status', SHA, { state: 'success', targetUrl: null, description: 'second' });
    await waitUntil('the redirected status tried and kept for later', async () => {
      const rows = await reportRows();
      return rows.some((r) => r.status === 'pending' && r.attempts >= 1);
    });
    expect(github.calls.some((c) => c.answered === 307)).toBe(true);
    expect(elsewhere).toEqual([]);
    const [kept] = (await reportRows()).filter((r) => r.status === 'pending');
    expect(kept?.last_error).toContain('GitHub answered with a redirect, which is not followed');
    github.setRedirect(null);
    await waitUntil('the status sent once GitHub answers again', async () =>
      (await reportRows()).every((r) => r.status === 'sent'),
    );
    expect(elsewhere).toEqual([]);
  });

  // An outbox of its own, so the server's worker (with the right key) does not send the row first.
  const wrongKeyOutbox = tempSqliteStore('sec-github-app');

  it('the wrong key: the error names the cause; nothing secret in errors, logs, the outbox or the audit', async () => {
    const tokensBefore = github.issued.length;
    const reports = new PreviewReports({
      db: wrongKeyOutbox.store.db,
      client: new GithubClient({
        apiUrl: github.url,
        credentials: new GithubAppCredentials({ apiUrl: github.url, appId: APP_ID, privateKey: wrong.pem }),
      }),
      clock: { now: () => new Date() },
      log: (l) => logs.push(l),
    });
    const id = await reports.enqueue(REPO, 2, 'comment', SHA, { markdown: 'hello' });
    await reports.flush();
    const row = await wrongKeyOutbox.store.db
      .selectFrom('preview_reports')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row.last_error).toContain("refused the App's signed token");
    expect(github.issued.length).toBe(tokensBefore);
    expect(github.calls.filter((c) => c.answered === 401).length).toBeGreaterThan(0);

    const audit = await server.services.store.db.selectFrom('audit_log').selectAll().execute();
    const outboxes = [
      await reportRows(),
      await wrongKeyOutbox.store.db.selectFrom('preview_reports').selectAll().execute(),
    ];
    const seen = [JSON.stringify(outboxes), JSON.stringify(audit), logs.join('\n')].join('\n');
    const all = secrets();
    expect(all.length).toBeGreaterThan(10);
    for (const s of all) expect(seen).not.toContain(s);
  });
});

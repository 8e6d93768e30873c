import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGithubFake, type GithubFake } from '../../../../../test/support/github-fake.ts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { waitUntil } from '../../../../../test/support/wait.ts';
import { checkPrivateKey, GithubAppCredentials } from './github-auth.ts';
import { GithubApiError, GithubClient } from './github-client.ts';
import { PreviewReports, reportsFromConfig } from './reports.ts';

// A GitHub App's credentials against the local GitHub in App mode, which checks the JWT's RS256
// signature with the App's public key, its iss, iat and exp, and accepts on statuses and
// comments only the installation tokens it issued, while they live.

const APP_ID = 424242;
const REPO = 'acme/payments';
const SHA = 'a'.repeat(40);
const status = { state: 'pending' as const, targetUrl: null, description: 'deploying' };

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // GitHub hands out PKCS#1 PEM files ("BEGIN RSA PRIVATE KEY").
  return { pem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicKey };
}

describe('GitHub App credentials', () => {
  const app = keyPair();
  const other = keyPair();
  let github: GithubFake;
  let appGithub: GithubFake;
  let offsetMs = 0;

  const client = (over: Partial<ConstructorParameters<typeof GithubAppCredentials>[0]> = {}) =>
    new GithubClient({
      apiUrl: github.url,
      credentials: new GithubAppCredentials({
        apiUrl: github.url,
        appId: APP_ID,
        privateKey: app.pem,
        now: () => Date.now() + offsetMs,
        ...over,
      }),
    });
  const paths = () => github.calls.map((c) => `${c.method} ${c.path} ${c.answered}`);

  beforeAll(async () => {
    github = appGithub = await startGithubFake({
      app: {
        appId: APP_ID,
        publicKey: app.publicKey,
        installations: { [REPO]: 77, 'acme/web': 78 },
        tokenTtlMs: 90_000,
      },
    });
  });
  afterAll(() => github.close());
  beforeEach(() => {
    github.calls.length = 0;
    offsetMs = 0;
  });

  it('signs a JWT GitHub accepts (iss the App, iat 60 s back, exp within 10 min), finds the installation, and keeps the token', async () => {
    const c = client();
    const before = Math.floor(Date.now() / 1000);
    await c.createStatus(REPO, SHA, status);
    await c.createComment(REPO, 3, 'hello');
    expect(paths()).toEqual([
      `GET /repos/acme/payments/installation 200`,
      `POST /app/installations/77/access_tokens 201`,
      `POST /repos/acme/payments/statuses/${SHA} 201`,
      `POST /repos/acme/payments/issues/3/comments 201`,
    ]);
    const jwt = github.jwts.at(-1)!;
    expect(String(jwt.iss)).toBe(String(APP_ID));
    expect(before - jwt.iat).toBeGreaterThanOrEqual(59);
    expect(before - jwt.iat).toBeLessThanOrEqual(62);
    expect(jwt.exp - jwt.iat).toBeLessThanOrEqual(600);
    const token = github.issued.at(-1)!.token;
    expect(github.calls.slice(2).every((call) => call.authorization === `Bearer ${token}`)).toBe(true);
    // The JWT goes only to the App endpoints; an installation token never does.
    expect(github.calls.slice(0, 2).every((call) => !call.authorization?.includes(token))).toBe(true);
  });

  it('a configured installationId is used as is: no lookup', async () => {
    await client({ installationId: 78 }).createStatus('acme/web', SHA, status);
    expect(paths()).toEqual([
      `POST /app/installations/78/access_tokens 201`,
      `POST /repos/acme/web/statuses/${SHA} 201`,
    ]);
  });

  it('a token is used until a minute before it expires, then a new one is made', async () => {
    const c = client();
    await c.createStatus(REPO, SHA, status);
    await c.createStatus(REPO, SHA, status);
    expect(paths().filter((p) => p.includes('access_tokens'))).toHaveLength(1);
    const first = github.issued.at(-1)!.token;
    offsetMs = 31_000; // the 90 s token now has less than a minute left
    await c.createStatus(REPO, SHA, status);
    expect(paths().filter((p) => p.includes('access_tokens'))).toHaveLength(2);
    expect(github.issued.at(-1)!.token).not.toBe(first);
    expect(github.calls.at(-1)).toMatchObject({
      answered: 201,
      authorization: `Bearer ${github.issued.at(-1)!.token}`,
    });
  });

  it('a token past its expires_at is refused by GitHub; one still thought good is replaced after that 401', async () => {
    const shortLived = await startGithubFake({
      app: { appId: APP_ID, publicKey: app.publicKey, installations: { [REPO]: 77 }, tokenTtlMs: 300 },
    });
    try {
      // A clock behind GitHub's: the client would keep the token, GitHub has let it expire.
      const c = new GithubClient({
        apiUrl: shortLived.url,
        credentials: new GithubAppCredentials({
          apiUrl: shortLived.url,
          appId: APP_ID,
          privateKey: app.pem,
          installationId: 77,
          refreshBeforeMs: 0,
          now: () => Date.now() - 600_000,
        }),
      });
      await c.createStatus(REPO, SHA, status);
      const first = shortLived.issued[0]!;
      await waitUntil('the first token expired', () => Date.now() > first.expiresAt);
      await c.createStatus(REPO, SHA, status);
      expect(shortLived.calls.map((call) => `${call.method} ${call.path} ${call.answered}`)).toEqual([
        `POST /app/installations/77/access_tokens 201`,
        `POST /repos/acme/payments/statuses/${SHA} 201`,
        `POST /repos/acme/payments/statuses/${SHA} 401`,
        `POST /app/installations/77/access_tokens 201`,
        `POST /repos/acme/payments/statuses/${SHA} 201`,
      ]);
    } finally {
      await shortLived.close();
    }
  });

  it('a token GitHub refuses (401) is dropped and the call tried once more with a new one', async () => {
    const c = client();
    await c.createStatus(REPO, SHA, status);
    github.revokeTokens();
    github.calls.length = 0;
    await c.createComment(REPO, 4, 'again');
    expect(paths()).toEqual([
      `POST /repos/acme/payments/issues/4/comments 401`,
      `GET /repos/acme/payments/installation 200`,
      `POST /app/installations/77/access_tokens 201`,
      `POST /repos/acme/payments/issues/4/comments 201`,
    ]);
  });

  it('only once: a second 401 is the error (retryable), with no third try', async () => {
    // Tokens issued by this fake are never what it wants on statuses: every one is refused.
    const strict = await startGithubFake({
      token: 'something-else',
      app: { appId: APP_ID, publicKey: app.publicKey, installations: { [REPO]: 77 } },
    });
    try {
      const c = new GithubClient({
        apiUrl: strict.url,
        credentials: new GithubAppCredentials({ apiUrl: strict.url, appId: APP_ID, privateKey: app.pem }),
      });
      const err = await c.createStatus(REPO, SHA, status).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 401, retryable: true });
      expect(strict.calls.filter((call) => call.path.includes('/statuses/')).map((call) => call.answered)).toEqual([
        401, 401,
      ]);
    } finally {
      await strict.close();
    }
  });

  it('an App not installed on the repository says so', async () => {
    const err = (await client()
      .createStatus('acme/other', SHA, status)
      .catch((e: unknown) => e)) as GithubApiError;
    expect(err).toBeInstanceOf(GithubApiError);
    expect(err.message).toBe(
      `GitHub App ${APP_ID} is not installed on acme/other (install it on the repository or its owner)`,
    );
    expect(err.retryable).toBe(true);
  });

  it('GitHub down or unreachable while getting a token: retryable errors saying which', async () => {
    github.setDown(true);
    try {
      const err = await client()
        .createStatus(REPO, SHA, status)
        .catch((e: unknown) => e);
      expect(err).toMatchObject({
        message: `GitHub App ${APP_ID}: getting the App's installation on ${REPO}: GitHub answered 503 Service Unavailable`,
        status: 503,
        retryable: true,
      });
    } finally {
      github.setDown(false);
    }
    const closed = await startGithubFake();
    const url = closed.url;
    await closed.close();
    const c = new GithubClient({
      apiUrl: url,
      credentials: new GithubAppCredentials({ apiUrl: url, appId: APP_ID, privateKey: app.pem, installationId: 77 }),
    });
    const err = await c.createStatus(REPO, SHA, status).catch((e: unknown) => e);
    expect(err).toMatchObject({
      message: `GitHub App ${APP_ID}: getting an installation token for ${REPO} (installation 77): could not connect`,
      status: null,
      retryable: true,
    });
  });

  it('a key that is not one is said at start, without the key', () => {
    expect(checkPrivateKey(app.pem)).toBeNull();
    expect(checkPrivateKey(app.pem.replace(/\n/g, '\\n'))).toBeNull();
    expect(checkPrivateKey('-----BEGIN RSA PRIVATE KEY-----\nnot-a-key\n-----END RSA PRIVATE KEY-----')).toBe(
      'is not a PEM private key',
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(checkPrivateKey(ec.toString())).toBe('is not an RSA key');
  });

  describe('in the reports outbox', () => {
    const tmp = tempSqliteStore('github-auth');

    it('from the config: the App is used; a key that is not one is logged once and the reports are closed with the reason', async () => {
      const logs: string[] = [];
      const github = (privateKey: string) => ({
        previousWebhookSecrets: [],
        apiUrl: appGithub.url,
        maxBodyKiB: 1024,
        app: { appId: APP_ID, privateKey: { env: 'IDP_TEST_APP_KEY' }, installationId: 77 },
        env: { IDP_TEST_APP_KEY: privateKey },
      });
      const bad = github('-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----');
      const broken = reportsFromConfig({
        db: tmp.store.db,
        clock: { now: () => new Date() },
        log: (l) => logs.push(l),
        github: bad,
        env: bad.env,
      });
      const id = await broken.enqueue(REPO, 10, 'status', SHA, status);
      await broken.flush();
      expect(logs).toEqual([
        'previews: previews.github.app.privateKey is not a PEM private key; pull requests get no status or comment',
      ]);
      const row = await tmp.store.db
        .selectFrom('preview_reports')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        status: 'failed',
        last_error: 'not sent: previews.github.app.privateKey is not a PEM private key',
      });

      const good = github(app.pem);
      const working = reportsFromConfig({
        db: tmp.store.db,
        clock: { now: () => new Date() },
        log: (l) => logs.push(l),
        github: good,
        env: good.env,
      });
      const sent = await working.enqueue(REPO, 11, 'status', SHA, status);
      await working.flush();
      expect(
        await tmp.store.db.selectFrom('preview_reports').select('status').where('id', '=', sent).executeTakeFirst(),
      ).toEqual({ status: 'sent' });
      expect(appGithub.calls.at(-1)).toMatchObject({ path: `/repos/${REPO}/statuses/${SHA}`, answered: 201 });
      expect(logs).toHaveLength(1);
    });

    it('the wrong key: the report is retried later, its error naming the cause and not the key or the JWT', async () => {
      const logs: string[] = [];
      const reports = new PreviewReports({
        db: tmp.store.db,
        client: client({ privateKey: other.pem }),
        clock: { now: () => new Date() },
        log: (l) => logs.push(l),
      });
      const id = await reports.enqueue(REPO, 9, 'status', SHA, status);
      await reports.flush();
      const row = await tmp.store.db.selectFrom('preview_reports').selectAll().where('id', '=', id).executeTakeFirst();
      expect(row).toMatchObject({ status: 'pending', attempts: 1 });
      expect(row?.last_error).toContain(`GitHub App ${APP_ID}: GitHub refused the App's signed token`);
      expect(row?.last_error).toContain('previews.github.app.privateKey');
      const jwt = github.calls.find((c) => c.answered === 401)?.authorization?.replace(/^Bearer /, '') ?? 'missing';
      expect(jwt.split('.')).toHaveLength(3);
      for (const text of [row?.last_error ?? '', row?.body ?? '', ...logs]) {
        expect(text).not.toContain(jwt);
        expect(text).not.toContain(other.pem.split('\n')[1]);
      }
      expect(github.calls.filter((c) => c.path.includes('/statuses/'))).toHaveLength(0);
    });
  });
});

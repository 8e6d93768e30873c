import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { userTokens } from '../support/tokens.ts';

// Replica logs are files under the data dir, read by GET /api/observability/logs from the
// service, env, release and replica a caller names. A caller tries to make those names reach
// other files (the data dir's keys, the host), to read another team's service, and to make the
// read expensive. Each attempt is a clear 400 or an empty answer: never a file's content, never a
// confirmation that something exists.

describe('replica logs read only what the caller may, and only log files', () => {
  let server: TestServer;
  let tokens: Record<string, string>;
  let secrets: string[];

  beforeAll(async () => {
    server = await startTestServer();
    tokens = await userTokens(server, ['alice', 'dave']);
    secrets = [server.adminToken, readFileSync(join(server.dataDir, 'master.key'), 'utf8').trim()].filter(Boolean);
  });
  afterAll(() => server?.stop());

  const logs = async (token: string, params: Record<string, string>) => {
    const res = await fetch(`${server.url}/api/observability/logs?${new URLSearchParams(params)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, text: await res.text() };
  };
  const emptyOrRefused = (r: { status: number; text: string }) => {
    expect([200, 400]).toContain(r.status);
    if (r.status === 200) expect(JSON.parse(r.text)).toMatchObject({ status: 'success', data: { result: [] } });
    else expect(JSON.parse(r.text).error.code).toBe('VALIDATION_FAILED');
    for (const secret of secrets) expect(r.text).not.toContain(secret);
  };

  it('names that climb out of the logs folder read nothing, even for an admin', async () => {
    const hostile: Record<string, string>[] = [
      { service: '../../..', env: 'staging' },
      { service: 'payments-api', env: '../../../..' },
      { service: 'payments-api', env: 'staging', release: '../../../../master.key' },
      { service: 'payments-api', env: 'staging', release: '..' },
      { service: '/etc/passwd', env: 'staging' },
      { service: 'payments-api/../../..', env: 'staging' },
      { service: 'payments-api', env: 'staging%2F..%2F..' },
      { service: 'payments-api\u0000', env: 'staging' },
      { service: '.', env: '.' },
    ];
    for (const params of hostile) emptyOrRefused(await logs(server.adminToken, params));
  });

  it("another team's service is an empty answer, the same as a service that does not exist", async () => {
    const other = await logs(tokens.dave!, { service: 'payments-api', env: 'staging' });
    const nothing = await logs(tokens.dave!, { service: 'no-such-service', env: 'staging' });
    expect(other.status).toBe(200);
    expect(JSON.parse(other.text)).toEqual(JSON.parse(nothing.text));
  });

  it('limits and patterns cannot make a read expensive', async () => {
    const huge = await logs(tokens.alice!, { service: 'payments-api', env: 'staging', limit: '100000000' });
    expect(huge.status).toBe(400);
    const long = await logs(tokens.alice!, { service: 'payments-api', env: 'staging', grep: 'a'.repeat(10_000) });
    expect(long.status).toBe(400);
    // grep is plain text, not a regular expression: a catastrophic pattern costs nothing.
    const started = performance.now();
    emptyOrRefused(await logs(tokens.alice!, { service: 'payments-api', env: 'staging', grep: '(a+)+$' }));
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyCheckCommand } from '@idp/core';
import { envFixture, storesAvailable, type EnvFixture } from '../support/environments.ts';
import { api, runCli, startTestServer, type TestServer } from '../support/server.ts';
import { userTokens } from './secrets-fixtures.ts';

// A denial says "Run `idp policy:check …` to see the decision". For every kind of resource a
// denial can name (an environment to be made, an existing environment, a service, a secret, the
// platform for catalog and tokens, a secret for access), the real action is refused, the command
// in its hint is run as it is through the real `idp` binary, and the decision must be the same:
// deny, with the same forbidding policies and reason.

const ok = await storesAvailable();

/** The words of a POSIX shell command line: spaces split, single quotes keep ('\'' is a quote). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '\\') word = (word ?? '') + line[++i];
    else if (c === ' ') {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? '') + c;
  }
  if (word !== null) words.push(word);
  return words;
}

/** The `idp policy:check …` command in a hint. */
function hintedCommand(hint: string): string[] {
  const m = /`(idp policy:check [^`]*)`/.exec(hint);
  expect(m, `no policy:check command in the hint: ${hint}`).not.toBeNull();
  return shellWords(m![1]!).slice(1);
}

describe.skipIf(!ok)('the policy:check a denial hints at gives the same decision', { timeout: 120_000 }, () => {
  let fx: EnvFixture;
  let server: TestServer;
  let t: Record<string, string>;
  let mine: string;

  const check = async (user: string, args: string[]) => {
    const res = await runCli([...args, '-o', 'json'], { IDP_URL: server.url, IDP_TOKEN: t[user]! });
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as { decision: string; forbiddenBy: string[]; reason: string; errors: string[] };
  };

  /** The real action's denial, then its hinted command run as the same user: same answer. */
  const sameAnswer = async (user: string, res: { status: number; json: any; text: string }) => {
    expect(res.status, res.text).toBe(403);
    const { code, details } = res.json.error;
    expect(code).toBe('POLICY_DENIED');
    const decision = await check(user, hintedCommand(details.hint));
    expect(decision).toMatchObject({ decision: 'deny', forbiddenBy: details.forbiddenBy, reason: details.reason });
    expect(decision.errors).toEqual([]);
    return decision;
  };

  beforeAll(async () => {
    fx = envFixture();
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    t = await userTokens(server, ['alice', 'dave', 'frank']);
    mine = fx.envName('pc-mine');
    const made = await api(server, t.alice!, 'POST', '/api/environments', { name: mine, from: 'cache', ttl: '1d' });
    expect(made.status, made.text).toBe(202);
  }, 90_000);

  afterAll(async () => {
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
  });

  it('environment that env:create would make (a production clone)', async () => {
    const res = await api(server, t.alice!, 'POST', '/api/environments', {
      name: fx.envName('pc-prod'),
      from: 'production',
      ttl: '2d',
    });
    const decision = await sameAnswer('alice', res);
    expect(decision.forbiddenBy).toEqual(['environments/no-production-clones']);
    expect(res.json.error.details.hint).toContain('"from":"production"');
  });

  it('an existing environment (connecting to production)', async () => {
    const res = await api(server, t.frank!, 'POST', '/api/environments/production/connect');
    const decision = await sameAnswer('frank', res);
    expect(decision.forbiddenBy).toEqual(['environments/no-production-connect']);
  });

  it('a service (deploy:rollback by another team)', async () => {
    const res = await api(server, t.dave!, 'POST', '/api/deployments/rollback', {
      service: 'payments-api',
      env: mine,
    });
    await sameAnswer('dave', res);
  });

  it("a secret (writing and deleting another team's)", async () => {
    const write = await api(server, t.dave!, 'PUT', '/api/secrets/staging/payments-api/NEW_KEY', { value: 'x' });
    await sameAnswer('dave', write);
    const del = await api(server, t.dave!, 'DELETE', '/api/secrets/staging/payments-api/STRIPE_KEY');
    await sameAnswer('dave', del);
  });

  it('the platform (registering a catalog file, making a token for someone else)', async () => {
    const register = await api(server, t.alice!, 'POST', '/api/catalog/idp/locations', {
      target: '/etc',
      type: 'file',
    });
    const decision = await sameAnswer('alice', register);
    expect(register.json.error.details.hint).toContain('"locationType":"file"');
    expect(decision.decision).toBe('deny');
    const token = await api(server, t.alice!, 'POST', '/api/tokens', { user: 'dave@company.com', ttl: '1d' });
    await sameAnswer('alice', token);
  });

  it('a secret under access (a request over the maximum duration)', async () => {
    const res = await api(server, t.dave!, 'POST', '/api/access/requests', {
      secret: 'production/payments-api/STRIPE_KEY',
      reason: "INC-1: it's down",
      duration: '8h',
    });
    expect(res.status, res.text).toBe(400);
    const { code, details } = res.json.error;
    expect(code).toBe('ACCESS_DURATION_TOO_LONG');
    // Its hint is the shorter duration; the same question through policy:check answers the same.
    const command = policyCheckCommand({
      principal: 'user:default/dave',
      action: 'access:request',
      resource: 'secret:production/payments-api/STRIPE_KEY',
      context: { durationSeconds: 8 * 3600, reason: "INC-1: it's down" },
    });
    const decision = await check('dave', shellWords(command).slice(1));
    expect(decision).toMatchObject({ decision: 'deny', forbiddenBy: details.forbiddenBy });
  });
});

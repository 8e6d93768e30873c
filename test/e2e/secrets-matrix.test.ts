import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { captureStderr, findLeaks, SecretValues, userTokens } from './secrets-fixtures.ts';

// Every demo user × every secret action × every environment, against what the default policies
// say (written out below in plain TypeScript, independently of the Cedar text). The matrix runs
// through the services in-process (one control plane, real store, real Cedar); a sample of it
// runs again through HTTP to show the wire gives the same answers.

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'] as const;
type User = (typeof USERS)[number];
const TEAM: Record<User, string> = {
  alice: 'payments',
  bob: 'payments',
  carol: 'payments',
  dave: 'identity',
  erin: 'identity',
  frank: 'platform',
};
const ADMINS = new Set<User>(['frank']);
const SERVICES = { 'payments-api': 'payments', 'users-api': 'identity', 'web-frontend': 'platform' } as const;
type Service = keyof typeof SERVICES;
const ENVS = ['dev', 'staging', 'production'] as const;
type Env = (typeof ENVS)[number];
/** For each service, someone outside its team (and not an admin) whose requests wait for approval. */
const OUTSIDER: Record<Service, User> = { 'payments-api': 'dave', 'users-api': 'alice', 'web-frontend': 'bob' };

const owns = (u: User, s: Service) => TEAM[u] === SERVICES[s];
const admin = (u: User) => ADMINS.has(u);

/** The default policies, in words: what each user may do to each service's secrets in each environment. */
const expected = {
  read: (u: User, s: Service, e: Env) => e !== 'production' && (owns(u, s) || admin(u)),
  write: (u: User, s: Service) => owns(u, s) || admin(u),
  delete: (u: User, s: Service) => owns(u, s) || admin(u),
  list: (u: User, s: Service) => owns(u, s) || admin(u),
  versions: (u: User, s: Service) => owns(u, s) || admin(u),
  token: (u: User, s: Service, e: Env) => e !== 'production' && (owns(u, s) || admin(u)),
  request: (u: User, s: Service) => (owns(u, s) ? 'approved' : 'pending'),
  /** After asking: owners hold a grant at once; everyone else still reads only what they could before. */
  readAfterRequest: (u: User, s: Service, e: Env) => owns(u, s) || (admin(u) && e !== 'production'),
  tokenAfterRequest: (u: User, s: Service, e: Env) => owns(u, s) || (admin(u) && e !== 'production'),
  /** Deciding the outsider's pending request. */
  approve: (u: User, s: Service) =>
    u === OUTSIDER[s] ? 'ACCESS_SELF_APPROVAL' : owns(u, s) || admin(u) ? 'approved' : 'ACCESS_REQUEST_NOT_FOUND',
};

async function outcome(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'allow';
  } catch (err) {
    if (err instanceof IdpError) return err.code;
    throw err;
  }
}

describe('the secrets policy matrix over the demo org', () => {
  const values = new SecretValues();
  let stderr: ReturnType<typeof captureStderr>;
  let server: TestServer;
  const ctx = (u: User | 'admin') => ({
    principal: server.services.tokens.principalFor(
      u === 'admin' ? 'user:default/idp-admin' : `user:default/${u}`,
      null,
    ),
    requestId: `matrix-${u}`,
  });
  const cells: string[] = [];
  const check = (u: User, action: string, s: Service, e: Env, got: string, want: string) => {
    cells.push(`${u} ${action} ${e}/${s}`);
    expect(got, `${u} ${action} ${e}/${s}`).toBe(want);
  };

  beforeAll(async () => {
    stderr = captureStderr();
    server = await startTestServer({ catalogTimer: false });
    // One secret per environment and service, set by the bootstrap admin.
    for (const e of ENVS)
      for (const s of Object.keys(SERVICES) as Service[])
        await server.services.secrets.set(ctx('admin'), `${e}/${s}/API_KEY`, values.make(`${e}-${s}`));
  });
  afterAll(async () => {
    stderr?.restore();
    await server?.stop();
  });

  it('read, write, delete, list, versions and workload tokens: exactly what the policy says', async () => {
    const { secrets } = server.services;
    for (const u of USERS) {
      for (const s of Object.keys(SERVICES) as Service[]) {
        for (const e of ENVS) {
          const path = `${e}/${s}/API_KEY`;
          const allowOrDenied = (ok: boolean) => (ok ? 'allow' : 'POLICY_DENIED');
          check(u, 'read', s, e, await outcome(() => secrets.get(ctx(u), path)), allowOrDenied(expected.read(u, s, e)));
          check(
            u,
            'write',
            s,
            e,
            await outcome(() => secrets.set(ctx(u), `${e}/${s}/BY_${u.toUpperCase()}`, values.make(`w-${u}`))),
            allowOrDenied(expected.write(u, s)),
          );
          const victim = `${e}/${s}/DEL_${u.toUpperCase()}`;
          await secrets.set(ctx('admin'), victim, values.make(`d-${u}`));
          check(
            u,
            'delete',
            s,
            e,
            await outcome(() => secrets.delete(ctx(u), victim)),
            allowOrDenied(expected.delete(u, s)),
          );
          check(
            u,
            'list',
            s,
            e,
            await outcome(() => secrets.list(ctx(u), { env: e, service: s })),
            allowOrDenied(expected.list(u, s)),
          );
          check(
            u,
            'versions',
            s,
            e,
            await outcome(() => secrets.versions(ctx(u), path)),
            allowOrDenied(expected.versions(u, s)),
          );
          check(
            u,
            'token',
            s,
            e,
            await outcome(() => secrets.createToken(ctx(u), { env: e, service: s })),
            allowOrDenied(expected.token(u, s, e)),
          );
        }
      }
    }
    expect(cells).toHaveLength(USERS.length * 3 * ENVS.length * 6);
  });

  it('an unfiltered list shows exactly the services each user may list', async () => {
    for (const u of USERS) {
      const listed = new Set((await server.services.secrets.list(ctx(u), {})).map((m) => m.service));
      const want = (Object.keys(SERVICES) as Service[]).filter((s) => expected.list(u, s));
      expect([...listed].sort(), u).toEqual(want.sort());
    }
  });

  it('access requests: the owning team is approved by rule, everyone else waits; reads and tokens follow', async () => {
    const { access, secrets } = server.services;
    for (const u of USERS) {
      for (const s of Object.keys(SERVICES) as Service[]) {
        for (const e of ENVS) {
          const r = await access.request(ctx(u), { secret: `${e}/${s}/*`, reason: `matrix ${u}`, duration: '1h' });
          check(u, 'request', s, e, r.status, expected.request(u, s));
          if (r.status === 'approved') expect(r.rule).toEqual(['access/owners-auto-approve']);
          const allowOrDenied = (ok: boolean) => (ok ? 'allow' : 'POLICY_DENIED');
          check(
            u,
            'read-after-request',
            s,
            e,
            await outcome(() => secrets.get(ctx(u), `${e}/${s}/API_KEY`)),
            allowOrDenied(expected.readAfterRequest(u, s, e)),
          );
          check(
            u,
            'token-after-request',
            s,
            e,
            await outcome(() => secrets.createToken(ctx(u), { env: e, service: s })),
            allowOrDenied(expected.tokenAfterRequest(u, s, e)),
          );
        }
      }
    }
  });

  it('approvals: only the owning team and platform admins decide, and never their own request', async () => {
    const { access } = server.services;
    for (const u of USERS) {
      for (const s of Object.keys(SERVICES) as Service[]) {
        for (const e of ENVS) {
          const pending = await access.request(ctx(OUTSIDER[s]), {
            secret: `${e}/${s}/API_KEY`,
            reason: `approve matrix for ${u}`,
            duration: '30m',
          });
          expect(pending.status).toBe('pending');
          const got = await outcome(() => access.approve(ctx(u), pending.id, {}));
          check(u, 'approve', s, e, got === 'allow' ? 'approved' : got, expected.approve(u, s));
          if (got !== 'allow') await access.revoke(ctx(OUTSIDER[s]), pending.id, { reason: 'matrix cleanup' });
        }
      }
    }
  });

  it('no user of another team reads, lists or approves what they do not own', () => {
    for (const u of USERS.filter((x) => !admin(x))) {
      for (const s of (Object.keys(SERVICES) as Service[]).filter((x) => !owns(u, x))) {
        for (const e of ENVS) {
          expect(
            expected.read(u, s, e) || expected.list(u, s) || expected.approve(u, s) === 'approved',
            `${u} on ${e}/${s}`,
          ).toBe(false);
          expect(cells).toEqual(
            expect.arrayContaining([`${u} read ${e}/${s}`, `${u} list ${e}/${s}`, `${u} approve ${e}/${s}`]),
          );
        }
      }
    }
  });

  it('the same answers through HTTP for a sample of the matrix', async () => {
    const t = await userTokens(server, ['alice', 'dave', 'frank']);
    const sample: [User, string, string, number][] = [
      ['alice', 'GET', '/api/secrets/staging/payments-api/API_KEY', 200],
      ['alice', 'GET', '/api/secrets/staging/users-api/BY_DAVE', 403], // (API_KEY there: the approval matrix granted it to her)
      ['dave', 'GET', '/api/secrets/dev/users-api/API_KEY', 200],
      ['dave', 'GET', '/api/secrets?env=dev&service=payments-api', 403],
      ['dave', 'PUT', '/api/secrets/staging/payments-api/X', 403],
      ['frank', 'GET', '/api/secrets/staging/users-api/API_KEY', 200],
      ['frank', 'GET', '/api/secrets/production/web-frontend/API_KEY', 200], // frank asked for (and owns) web-frontend above
      ['frank', 'GET', '/api/secrets/production/users-api/API_KEY', 403],
      ['alice', 'GET', '/api/secrets/production/payments-api/API_KEY', 200], // her grant from the request matrix
    ];
    for (const [u, method, path, status] of sample) {
      const res = await api(server, t[u]!, method, path, method === 'PUT' ? { value: values.make('http') } : undefined);
      expect(res.status, `${u} ${method} ${path}: ${res.text.slice(0, 200)}`).toBe(status);
    }
  });

  it('leaves no secret value in the data dir or the logs', () => {
    expect(findLeaks(values.all, [server.dataDir], [stderr.text()])).toEqual([]);
  });
});

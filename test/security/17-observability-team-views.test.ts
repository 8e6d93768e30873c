import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { IdpError } from '@idp/contracts';
import { stampOf } from '@idp/runtime-local';
import { ACME_CONFIG, api, startTestServer, type TestServer } from '../support/server.ts';
import { userTokens } from '../support/tokens.ts';

// observability.teams lets a team's members read more logs than deploy:read gives them. A real
// server with two base environments (no database or Redis: nothing to seed) and replica log files
// written where the runtime writes them. The acme catalog: payments (alice, bob, carol) owns
// payments-api, identity (dave, erin) owns users-api, platform (frank, admins) web-frontend.
//  - payments lists only alice and bob and adds users-api: carol, left out, gets the same empty
//    answer as for a service that does not exist, but still reads her own team's payments-api;
//  - identity (members from its Group) has `service=*`: that reaches dave and erin, nobody else;
//  - contractors (no such Group) lists bob with `namespace=q?` (base environment qa's namespace is qa): bob reads all of qa, not of sandbox;
//  - `.*` in a glob is a dot and a wildcard, not a regular expression: carol gains nothing by it;
//  - a config whose glob carries regular-expression syntax does not start, and says why.

const SERVICES = ['payments-api', 'users-api', 'web-frontend'];
const ENVS = ['sandbox', 'qa'];

function configWith(name: string, teams: unknown): string {
  const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
  doc.setIn(['environments'], {
    base: { sandbox: { tier: 'development', owner: 'platform' }, qa: { tier: 'staging', owner: 'platform' } },
  });
  doc.setIn(['observability', 'teams'], teams);
  const path = join(dirname(ACME_CONFIG), `idp.${name}.config.yaml`);
  writeFileSync(path, doc.toString());
  return path;
}

describe('team views grant log reads to their members only', () => {
  let server: TestServer;
  let t: Record<string, string>;
  const started: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      configPath: configWith('team-views', [
        { name: 'payments', members: ['alice', 'bob'], views: { logs: { paths: ['service=users-api'] } } },
        { name: 'identity', views: { dashboards: ['*'], logs: { paths: ['service=*'] } } },
        { name: 'contractors', members: ['bob'], views: { logs: { paths: ['namespace=q?'] } } },
        // `.` is a literal character in a glob, never "any character": this selects nothing.
        { name: 'dotted', members: ['carol'], views: { logs: { paths: ['namespace=.*', 'service=.*', 'env=.*'] } } },
      ]),
      environmentTimers: false,
      log: (line: string) => started.push(line),
    });
    t = await userTokens(server, ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);
    // As the runtime lays them out: <namespace dir>/logs/<service>/<release>/replica-N.log, stamped lines.
    for (const env of ENVS) {
      for (const service of SERVICES) {
        const dir = join(server.services.environments.namespaceDir(env), 'logs', service, 'v1');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'replica-1.log'), `${stampOf(Date.now() - 1000)}line of ${service} in ${env}\n`);
      }
    }
  }, 60_000);
  afterAll(() => server?.stop());

  /** The lines a user reads of a service in an environment (the answer must be a 200 either way). */
  const read = async (user: string, service: string, env: string): Promise<string[]> => {
    const res = await api(server, t[user]!, 'GET', `/api/observability/logs?service=${service}&env=${env}`);
    expect(res.status, res.text).toBe(200);
    return res.json.data.result.flatMap((s: { values: string[][] }) => s.values.map((v) => v[1]));
  };
  const readsWhat = async (user: string) => {
    const out: string[] = [];
    for (const env of ENVS)
      for (const service of SERVICES) if ((await read(user, service, env)).length) out.push(`${service}@${env}`);
    return out;
  };

  it('each user reads exactly what ownership and the views their membership gives them', async () => {
    expect({
      alice: await readsWhat('alice'),
      bob: await readsWhat('bob'),
      carol: await readsWhat('carol'),
      dave: await readsWhat('dave'),
      erin: await readsWhat('erin'),
      frank: await readsWhat('frank'),
    }).toEqual({
      // payments-api by ownership, users-api by the payments view (listed members).
      alice: ['payments-api@sandbox', 'users-api@sandbox', 'payments-api@qa', 'users-api@qa'],
      // ... and all of qa by the contractors view.
      bob: ['payments-api@sandbox', 'users-api@sandbox', 'payments-api@qa', 'users-api@qa', 'web-frontend@qa'],
      // Left out of the payments list: her team's own service only.
      carol: ['payments-api@sandbox', 'payments-api@qa'],
      // service=* of identity, members from the Group.
      dave: ENVS.flatMap((e) => SERVICES.map((s) => `${s}@${e}`)),
      erin: ENVS.flatMap((e) => SERVICES.map((s) => `${s}@${e}`)),
      // Admin: deploy:read everywhere.
      frank: ENVS.flatMap((e) => SERVICES.map((s) => `${s}@${e}`)),
    });
  });

  it('a view-granted read gets the lines, labelled as for the owners', async () => {
    const res = await api(server, t.alice!, 'GET', '/api/observability/logs?service=users-api&env=sandbox');
    expect(res.json.data.result).toEqual([
      {
        stream: {
          team: 'identity',
          service: 'users-api',
          env: 'sandbox',
          namespace: 'sandbox',
          release: 'v1',
          replica: '1',
        },
        values: [[expect.stringMatching(/^\d{19}$/), 'line of users-api in sandbox']],
      },
    ]);
  });

  it('what no view grants is the same empty answer as a service or environment that does not exist', async () => {
    const denied = await api(server, t.carol!, 'GET', '/api/observability/logs?service=users-api&env=sandbox');
    const noService = await api(server, t.carol!, 'GET', '/api/observability/logs?service=no-such&env=sandbox');
    const noEnv = await api(server, t.carol!, 'GET', '/api/observability/logs?service=users-api&env=no-such');
    expect(denied.json).toEqual(noService.json);
    expect(denied.json).toEqual(noEnv.json);
    expect(denied.json.data.result).toEqual([]);
  });

  it('a follower is refused the same way: nothing for carol, the backlog and new lines for alice', async () => {
    const follow = async (user: string) => {
      const abort = new AbortController();
      const res = await fetch(`${server.url}/api/observability/logs?service=users-api&env=sandbox&follow=true`, {
        headers: { authorization: `Bearer ${t[user]!}` },
        signal: abort.signal,
      });
      expect(res.status).toBe(200);
      const stream = { text: '', close: () => abort.abort() };
      void (async () => {
        const decoder = new TextDecoder();
        try {
          for await (const chunk of res.body!) stream.text += decoder.decode(chunk as Uint8Array, { stream: true });
        } catch {
          /* aborted */
        }
      })();
      return stream;
    };
    const carol = await follow('carol');
    await expect.poll(() => carol.text).toContain(': following');
    const alice = await follow('alice');
    try {
      await expect.poll(() => alice.text).toContain('line of users-api in sandbox');
      const file = join(
        server.services.environments.namespaceDir('sandbox'),
        'logs',
        'users-api',
        'v1',
        'replica-1.log',
      );
      appendFileSync(file, `${stampOf(Date.now())}a new line of users-api\n`);
      await expect.poll(() => alice.text).toContain('a new line of users-api');
      expect(server.services.logs.followers()).toBe(1);
      expect(carol.text).not.toContain('users-api');
    } finally {
      carol.close();
      alice.close();
    }
    await expect.poll(() => server.services.logs.followers()).toBe(0);
  });

  it('a team that names no Group is a start-up warning, not a failure', () => {
    expect(started).toContain(
      'warning: observability.teams: "contractors" is not a Group of the catalog; its views apply only to its listed members (1)',
    );
    expect(started.filter((l) => l.includes('observability.teams'))).toHaveLength(2);
  });
});

describe('hostile globs are refused when the config is read', () => {
  it.each([
    { where: 'logs', glob: 'service=(a+)+$' },
    { where: 'logs', glob: 'namespace=payments|identity' },
    { where: 'logs', glob: 'service=[a-z]*' },
    { where: 'logs', glob: 'service=\\d+' },
    { where: 'dashboards', glob: 'pay(ments|outs)' },
    { where: 'dashboards', glob: 'a{1,1000}' },
    { where: 'dashboards', glob: '^payments$' },
  ] as const)('$where: $glob', async ({ where, glob }) => {
    const entry = { name: 'payments', views: where === 'logs' ? { logs: { paths: [glob] } } : { dashboards: [glob] } };
    const configPath = configWith('hostile-glob', [entry]);
    const err = await startTestServer({ configPath }).then(
      (s) => s.stop().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IdpError);
    const e = err as IdpError;
    expect(e.code).toBe('CONFIG_INVALID');
    const field =
      where === 'logs' ? 'observability.teams[0].views.logs.paths[0]' : 'observability.teams[0].views.dashboards[0]';
    expect(e.message).toContain(`field ${field}:`);
    expect(e.message).toMatch(
      where === 'logs' ? /a log selector such as namespace=payments-\*/ : /a name glob such as payments-\*/,
    );
    expect(e.message).toContain('wildcards * ? only');
  });
});

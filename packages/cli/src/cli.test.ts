import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, it, type ExpectStatic, type TestContext } from 'vitest';

// These tests run the real `idp` executable. The control plane is a local stub answering a few
// routes with canned bodies: the real server has its own end-to-end tests.

const BIN = fileURLToPath(new URL('../bin/idp.js', import.meta.url));
const GOOD_TOKEN = 'idp_good';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}

/** One test's world: its own config dir and its own stub, so tests can run concurrently. */
interface Harness {
  configDir: string;
  stubUrl: string;
  requests: Seen[];
  idp(args: string[], env?: Record<string, string>): Promise<Result>;
  /** IDP_URL and IDP_TOKEN of the stub, accepted by it. */
  asStub: Record<string, string>;
}

let unreachableUrl: string;

const principal = {
  ref: 'user:default/alice',
  name: 'alice',
  email: 'alice@acme.test',
  displayName: 'Alice Archer',
  teams: ['group:default/payments', 'group:default/engineering'],
  roles: ['member'],
  tokenId: 'tok_alice',
};

const token = {
  id: 'tok_1',
  user: 'user:default/bob',
  description: null,
  createdAt: '2025-01-02T03:04:05.678Z',
  createdBy: 'user:default/idp-admin',
  expiresAt: '2025-02-01T03:04:05.678Z',
  revokedAt: null,
  lastUsedAt: null,
  status: 'active',
};

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_stub' });
  res.end(JSON.stringify(body));
}

function envelope(code: string, message: string, hint?: string) {
  return { error: { code, message, details: hint ? { hint } : {}, requestId: 'req_stub' } };
}

function component(name: string) {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name },
    spec: { type: 'service', lifecycle: 'production', owner: 'payments' },
    relations: [{ type: 'ownedBy', targetRef: 'group:default/payments' }],
  };
}

/** Three entities, two per page; the cursor is the index of the next page's first entity. */
function entityPage(url: URL) {
  const all = ['a-api', 'b-api', 'c-api'].map(component);
  const start = Number(url.searchParams.get('cursor') ?? 0);
  const end = start + Number(url.searchParams.get('limit') ?? 2);
  return { items: all.slice(start, end), totalItems: all.length, nextCursor: end < all.length ? String(end) : null };
}

const location = {
  id: 'loc_1',
  type: 'file',
  target: '/x',
  origin: 'api',
  entities: 2,
  errors: 1,
  refreshedAt: null,
  status: 'ok',
  lastError: null,
};

function route(method: string, path: string, body: string, authorized: boolean, res: ServerResponse, url: URL): void {
  if (!authorized) return send(res, 401, envelope('TOKEN_INVALID', 'the API token is not one the platform issued'));
  if (method === 'GET' && path === '/api/catalog/idp/entities') return send(res, 200, entityPage(url));
  if (method === 'POST' && path === '/api/catalog/idp/locations') {
    const { target } = JSON.parse(body);
    return send(res, 201, {
      location: { ...location, target },
      added: 2,
      updated: 0,
      removed: 0,
      unchanged: 0,
      errors: 1,
      warnings: [
        { file: 'catalog-info.yaml', line: 4, entityRef: 'component:default/x', message: 'spec.lifecycle is missing' },
      ],
      durationMs: 3,
    });
  }
  if (method === 'POST' && path === '/api/tokens' && JSON.parse(body).user === 'carol@acme.test') {
    return send(res, 201, {
      ...token,
      id: 'tok_2',
      user: 'user:default/carol',
      description: 'ci',
      token: 'idp_secret_once',
    });
  }
  switch (`${method} ${path}`) {
    case 'GET /api/whoami':
      return send(res, 200, principal);
    case 'GET /api/tokens':
      return send(res, 200, { items: [token] });
    case 'POST /api/tokens':
      return send(res, 403, envelope('POLICY_DENIED', 'token:create on platform:idp denied', 'Ask a platform admin.'));
    case 'DELETE /api/tokens/tok_missing':
      return send(res, 404, envelope('TOKEN_NOT_FOUND', 'no API token with id tok_missing'));
    case 'GET /api/audit/verify':
      return send(res, 200, { ok: false, records: 12, headSeq: 12, firstBadSeq: 7, problem: 'record 7 hash mismatch' });
    case 'POST /api/policy/check':
      return send(res, 200, {
        decision: 'deny',
        principal: 'user:default/alice',
        action: 'env:create',
        resource: 'environment:production',
        permittedBy: [],
        forbiddenBy: ['prod-admins-only'],
        reason: 'forbidden by prod-admins-only',
        errors: [],
      });
    default:
      return send(res, 404, envelope('NOT_FOUND', `no route ${method} ${path}`));
  }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Cleans up through the test's own context: global hooks cannot tell concurrent tests apart. */
async function harness({ onTestFinished }: TestContext): Promise<Harness> {
  const configDir = mkdtempSync(join(tmpdir(), 'idp-cli-test-'));
  const requests: Seen[] = [];
  const stub = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      route(req.method ?? 'GET', url.pathname, body, req.headers.authorization === `Bearer ${GOOD_TOKEN}`, res, url);
    });
  });
  const stubUrl = await listen(stub);
  onTestFinished(async () => {
    await new Promise<void>((resolve) => stub.close(() => resolve()));
    rmSync(configDir, { recursive: true, force: true });
  });

  const idp = (args: string[], env: Record<string, string> = {}): Promise<Result> => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, IDP_CONFIG_DIR: configDir, NO_COLOR: '1', ...env };
    for (const name of ['IDP_URL', 'IDP_TOKEN', 'IDP_DEBUG'] as const) if (!(name in env)) delete childEnv[name];
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env: childEnv, timeout: 20_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  };
  return { configDir, stubUrl, requests, idp, asStub: { IDP_URL: stubUrl, IDP_TOKEN: GOOD_TOKEN } };
}

function expectNoStackTrace(expect: ExpectStatic, result: Result): void {
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

beforeAll(async () => {
  const closed = createServer();
  unreachableUrl = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
});

// Each case spawns the executable (~0.5 s), so they run concurrently, each with its own harness.
describe.concurrent('idp (the real executable)', { timeout: 30_000 }, () => {
  it('--help lists the topics and the commands', async (ctx) => {
    const { expect } = ctx;
    const { idp } = await harness(ctx);

    const result = await idp(['--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^TOPICS$/m);
    for (const topic of ['token', 'audit', 'policy', 'catalog', 'team'])
      expect(result.stdout).toMatch(new RegExp(`^  ${topic}\\s+\\S`, 'm'));
    for (const command of ['server', 'login', 'logout', 'whoami', 'oncall'])
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\s+\\S`, 'm'));
  });

  it('an unknown flag is a usage error, exit 2', async (ctx) => {
    const { expect } = ctx;
    const { idp } = await harness(ctx);

    const result = await idp(['token:list', '--bogus']);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'Error [USAGE]: Nonexistent flag: --bogus\nTry this: Run `idp token:list --help` to see its flags and examples.\n',
    );
  });

  it('a missing required flag, a bad flag value and an unknown command are usage errors too', async (ctx) => {
    const { expect } = ctx;
    const { idp } = await harness(ctx);

    const [missing, badValue, unknown] = await Promise.all([
      idp(['token:create']),
      idp(['audit', '--limit', 'many']),
      idp(['tokens:make']),
    ]);

    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^Error \[USAGE\]: Missing required flag user$/m);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toMatch(/^Error \[USAGE\]: --limit: Expected an integer but received: many$/m);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^Error \[USAGE\]: "tokens:make" is not an idp command$/m);
  });

  it('login checks the token, then saves url and token readable only by the user', async (ctx) => {
    const { expect } = ctx;
    const { idp, requests, stubUrl, configDir } = await harness(ctx);

    const result = await idp(['login', '--url', stubUrl, '--token', GOOD_TOKEN]);

    expect(result.code).toBe(0);
    expect(requests.map((r) => [r.method, r.url, r.authorization])).toEqual([
      ['GET', '/api/whoami', `Bearer ${GOOD_TOKEN}`],
    ]);
    expect(result.stdout).toMatch(/^User:\s+user:default\/alice$/m);
    expect(result.stderr).toContain(`Logged in to ${stubUrl} as user:default/alice`);

    const file = join(configDir, 'config.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ url: stubUrl, token: GOOD_TOKEN });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(configDir).mode & 0o777).toBe(0o700);

    // Later commands use the saved login.
    const whoami = await idp(['whoami', '-o', 'json']);
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toEqual(principal);
  });

  it('login with a bad token saves nothing and exits 3', async (ctx) => {
    const { expect } = ctx;
    const { idp, stubUrl, configDir } = await harness(ctx);

    const result = await idp(['login', '--url', stubUrl, '--token', 'idp_wrong']);

    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^Error \[TOKEN_INVALID\]: /m);
    expect(() => statSync(join(configDir, 'config.json'))).toThrow();
  });

  it('logout removes the saved login', async (ctx) => {
    const { expect } = ctx;
    const { idp, stubUrl, configDir } = await harness(ctx);
    writeFileSync(join(configDir, 'config.json'), JSON.stringify({ url: stubUrl, token: GOOD_TOKEN }), { mode: 0o600 });

    const result = await idp(['logout']);

    expect(result.code).toBe(0);
    expect(() => statSync(join(configDir, 'config.json'))).toThrow();
  });

  it('renders an API error envelope with its code and hint; denied exits 3', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub, requests } = await harness(ctx);

    const result = await idp(['token:create', '--user', 'bob@acme.test'], asStub);

    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'Error [POLICY_DENIED]: token:create on platform:idp denied\nTry this: Ask a platform admin.\n',
    );
    expect(JSON.parse(requests[0]!.body)).toEqual({ user: 'bob@acme.test' });
    expectNoStackTrace(expect, result);
  });

  it('token:create shows the token first and warns on stderr that it is shown once', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub } = await harness(ctx);

    const result = await idp(
      ['token:create', '--user', 'carol@acme.test', '--ttl', '7d', '--description', 'ci'],
      asStub,
    );

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('idp_secret_once');
    expect(result.stdout).toMatch(/^ID:\s+tok_2$/m);
    expect(result.stdout).toMatch(/^Expires:\s+2025-02-01T03:04:05Z$/m);
    expect(result.stderr).toContain('shown only once');
  });

  it('not found exits 4', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub } = await harness(ctx);

    const result = await idp(['token:revoke', 'tok_missing'], asStub);

    expect(result.code).toBe(4);
    expect(result.stderr).toBe(
      'Error [TOKEN_NOT_FOUND]: no API token with id tok_missing\nTry this: Run `idp token:list` to see token ids.\n',
    );
  });

  it('an unreachable control plane is SERVER_UNREACHABLE, exit 1', async (ctx) => {
    const { expect } = ctx;
    const { idp } = await harness(ctx);

    const result = await idp(['whoami'], { IDP_URL: unreachableUrl });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^Error \\[SERVER_UNREACHABLE\\]: cannot reach the control plane at ${unreachableUrl}`, 'm'),
    );
    expect(result.stderr).toMatch(/^Try this: /m);
    expectNoStackTrace(expect, result);
  });

  it('--output json prints the API object on stdout and nothing else', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub } = await harness(ctx);

    const result = await idp(['token:list', '--output', 'json'], asStub);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ items: [token] });
    expect(result.stderr).toBe('');
  });

  it('--output json sends the error envelope to stderr, keeping stdout for results', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub } = await harness(ctx);

    const result = await idp(['token:revoke', 'tok_missing', '-o', 'json'], asStub);

    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr)).toEqual({
      error: {
        code: 'TOKEN_NOT_FOUND',
        message: 'no API token with id tok_missing',
        details: { hint: 'Run `idp token:list` to see token ids.' },
        requestId: 'req_stub',
      },
    });
  });

  it('a usage error with --output json is a JSON envelope too', async (ctx) => {
    const { expect } = ctx;
    const { idp } = await harness(ctx);

    const result = await idp(['token:list', '-o', 'json', '--bogus']);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr).error.code).toBe('USAGE');
  });

  it('--output yaml prints YAML', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub } = await harness(ctx);

    const result = await idp(['whoami', '-o', 'yaml'], asStub);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ref: user:default/alice\n');
    expect(result.stdout).toContain('teams:\n  - group:default/payments\n');
  });

  it('table output aligns columns', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub } = await harness(ctx);

    const result = await idp(['token:list'], asStub);

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'ID     USER  STATUS  CREATED               EXPIRES               LAST USED  DESCRIPTION',
      'tok_1  bob   active  2025-01-02T03:04:05Z  2025-02-01T03:04:05Z  -          -',
      '',
    ]);
  });

  it('audit:verify prints the result and fails with AUDIT_TAMPERED when the chain breaks', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub } = await harness(ctx);

    const result = await idp(['audit:verify'], asStub);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^OK:\s+no$/m);
    expect(result.stdout).toMatch(/^Records:\s+12$/m);
    expect(result.stderr).toMatch(/^Error \[AUDIT_TAMPERED\]: record 7 hash mismatch \(first bad record: seq 7\)$/m);
  });

  it('policy:check explains a deny and exits 0', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub, requests } = await harness(ctx);

    const result = await idp(
      [
        'policy:check',
        '--principal',
        'alice@acme.test',
        '--action',
        'env:create',
        '--resource',
        'environment:production',
        '--context',
        '{"ttl":"2h"}',
      ],
      asStub,
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Decision:\s+DENY$/m);
    expect(result.stdout).toMatch(/^Forbidden by:\s+prod-admins-only$/m);
    expect(JSON.parse(requests[0]!.body)).toEqual({
      principal: 'alice@acme.test',
      action: 'env:create',
      resource: 'environment:production',
      context: { ttl: '2h' },
    });
  });

  it('policy:check refuses a --context that is not a JSON object, without calling the API', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub, requests } = await harness(ctx);

    const result = await idp(
      ['policy:check', '--principal', 'a', '--action', 'b', '--resource', 'c:d', '--context', 'ttl=2h'],
      asStub,
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^Error \[USAGE\]: --context is not valid JSON/m);
    expect(requests).toEqual([]);
  });

  it('audit passes its filters as query parameters', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub, requests } = await harness(ctx);

    const result = await idp(
      ['audit', '--actor', 'alice@acme.test', '--decision', 'deny', '--since', '1h', '--limit', '5'],
      asStub,
    );

    // The stub has no audit list route, so this is also a NOT_FOUND rendering check.
    expect(result.code).toBe(4);
    const url = new URL(requests[0]!.url, 'http://stub');
    expect(url.pathname).toBe('/api/audit');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      actor: 'alice@acme.test',
      decision: 'deny',
      since: '1h',
      limit: '5',
    });
  });

  it('catalog:list shows one page and how to get the next; --all follows the cursors into one page object', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub, requests } = await harness(ctx);

    const [first, all] = await Promise.all([
      idp(['catalog:list', '--kind', 'component', '--owner', 'payments'], asStub),
      idp(['catalog:list', '--all', '-o', 'json'], asStub),
    ]);

    expect(first.code).toBe(0);
    expect(first.stdout.split('\n')).toEqual([
      'REF              KIND       TYPE     OWNER     LIFECYCLE',
      'component:a-api  Component  service  payments  production',
      'component:b-api  Component  service  payments  production',
      '',
    ]);
    expect(first.stderr).toBe('Showing 2 of 3. Next page: --cursor 2 (or --all for every page).\n');
    expect(JSON.parse(all.stdout)).toEqual({
      items: ['a-api', 'b-api', 'c-api'].map(component),
      totalItems: 3,
      nextCursor: null,
    });
    expect(all.stderr).toBe('');
    const queries = requests
      .map((r) => Object.fromEntries(new URL(r.url, 'http://stub').searchParams))
      .sort((a, b) => Object.keys(a).length - Object.keys(b).length);
    expect(queries).toEqual([{}, { cursor: '2' }, { kind: 'component', owner: 'payments' }]);
  });

  it('catalog:register sends a local path made absolute and points at catalog:errors when there are problems', async (ctx) => {
    const { expect } = ctx;
    const { idp, asStub, requests } = await harness(ctx);

    const result = await idp(['catalog:register', 'some/catalog'], asStub);

    expect(result.code).toBe(0);
    expect(JSON.parse(requests[0]!.body)).toEqual({ target: join(process.cwd(), 'some/catalog'), dryRun: false });
    expect(result.stdout).toMatch(/^Added:\s+2$/m);
    expect(result.stdout).toMatch(/^Warnings:\s+1$/m);
    expect(result.stderr).toContain('warning: catalog-info.yaml:4 component:default/x: spec.lifecycle is missing');
    expect(result.stderr).toContain('run `idp catalog:errors --location loc_1` to see them');
  });
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { IdpClient } from './index.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
let seen: Seen[];

function json(res: ServerResponse, status: number, body: unknown, requestId = 'req-1'): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': requestId });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  handler = (_req, res) => json(res, 200, {});
});

async function caught(promise: Promise<unknown>): Promise<IdpError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(IdpError);
    return err as IdpError;
  }
  throw new Error('expected the call to fail');
}

const principal = {
  ref: 'user:default/alice',
  name: 'alice',
  email: 'alice@acme.test',
  displayName: 'Alice',
  teams: ['group:default/payments'],
  roles: ['member'],
  tokenId: 'tok_1',
};

describe('IdpClient', () => {
  it('sends the bearer token and returns the parsed body', async () => {
    handler = (_req, res) => json(res, 200, principal);
    const client = new IdpClient({ url: baseUrl, token: 'secret-token' });

    await expect(client.whoami()).resolves.toEqual(principal);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/api/whoami' });
    expect(seen[0]!.headers.authorization).toBe('Bearer secret-token');
  });

  it('sends no authorization header without a token', async () => {
    await new IdpClient({ url: baseUrl }).health();
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it('posts JSON bodies', async () => {
    handler = (_req, res) => json(res, 201, { id: 'tok_2', token: 'idp_abc' });
    const client = new IdpClient({ url: baseUrl, token: 't' });

    const created = await client.createToken({ user: 'alice@acme.test', ttl: '7d' });

    expect(created).toEqual({ id: 'tok_2', token: 'idp_abc' });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/tokens' });
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0]!.body)).toEqual({ user: 'alice@acme.test', ttl: '7d' });
  });

  it('unwraps list responses and encodes path parameters', async () => {
    handler = (req, res) =>
      req.method === 'GET' ? json(res, 200, { items: [{ id: 'a' }] }) : json(res, 200, { id: 'a/b' });
    const client = new IdpClient({ url: baseUrl, token: 't' });

    await expect(client.listTokens()).resolves.toEqual({ items: [{ id: 'a' }] });
    await client.revokeToken('a/b');
    expect(seen[1]).toMatchObject({ method: 'DELETE', url: '/api/tokens/a%2Fb' });
  });

  it('turns audit filters into a query string, leaving out unset ones', async () => {
    handler = (_req, res) => json(res, 200, { items: [] });
    const client = new IdpClient({ url: baseUrl, token: 't' });

    await client.listAudit({ actor: 'user:default/alice', decision: 'deny', since: '1h', limit: 5, action: undefined });

    const url = new URL(seen[0]!.url, baseUrl);
    expect(url.pathname).toBe('/api/audit');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      actor: 'user:default/alice',
      decision: 'deny',
      since: '1h',
      limit: '5',
    });
  });

  it('keeps a path prefix of the base URL', async () => {
    await new IdpClient({ url: `${baseUrl}/idp/` }).health();
    expect(seen[0]!.url).toBe('/idp/healthz');
  });

  it('treats a 503 readiness answer as a result', async () => {
    const notReady = { status: 'not_ready', checks: { store: { ok: false, message: 'locked' } } };
    handler = (_req, res) => json(res, 503, notReady);

    await expect(new IdpClient({ url: baseUrl }).readiness()).resolves.toEqual(notReady);
  });

  it('turns an error envelope back into the IdpError, with hint and request id', async () => {
    handler = (_req, res) =>
      json(res, 403, {
        error: {
          code: 'POLICY_DENIED',
          message: 'user:default/bob may not token:create on platform:idp',
          details: { hint: 'Ask the platform team.', policies: ['admins-only'] },
          requestId: 'req-42',
        },
      });

    const err = await caught(new IdpClient({ url: baseUrl, token: 't' }).createToken({ user: 'bob' }));

    expect(err.code).toBe('POLICY_DENIED');
    expect(err.message).toBe('user:default/bob may not token:create on platform:idp');
    expect(err.hint).toBe('Ask the platform team.');
    expect(err.exitCode).toBe(3);
    expect(err.details).toMatchObject({ requestId: 'req-42', policies: ['admins-only'] });
  });

  it('falls back to the x-request-id header and the catalogue hint', async () => {
    handler = (_req, res) =>
      json(res, 404, { error: { code: 'TOKEN_NOT_FOUND', message: 'no token tok_9', details: {} } }, 'hdr-7');

    const err = await caught(new IdpClient({ url: baseUrl, token: 't' }).revokeToken('tok_9'));

    expect(err.code).toBe('TOKEN_NOT_FOUND');
    expect(err.exitCode).toBe(4);
    expect(err.details.requestId).toBe('hdr-7');
    expect(err.hint).toBe('Run `idp token:list` to see token ids.');
  });

  it('reports a non-envelope error body as INTERNAL with the status', async () => {
    handler = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad gateway</html>');
    };

    const err = await caught(new IdpClient({ url: baseUrl }).whoami());

    expect(err.code).toBe('INTERNAL');
    expect(err.details.status).toBe(502);
    expect(err.message).toContain('HTTP 502');
  });

  it('keeps an error code it does not know visible', async () => {
    // A newer server may answer with a code this client's catalogue does not have yet.
    handler = (_req, res) =>
      json(res, 409, { error: { code: 'FUTURE_THING_EXISTS', message: 'thing exists', details: {} } });

    const err = await caught(new IdpClient({ url: baseUrl }).request('POST', '/api/things', { body: {} }));

    expect(err.code).toBe('INTERNAL');
    expect(err.message).toBe('FUTURE_THING_EXISTS: thing exists');
    expect(err.details).toMatchObject({ serverCode: 'FUTURE_THING_EXISTS', status: 409 });
  });

  it('rejects a 2xx body that is not JSON', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello');
    };

    expect((await caught(new IdpClient({ url: baseUrl }).health())).code).toBe('INTERNAL');
  });

  it('resolves undefined for an empty 204', async () => {
    handler = (_req, res) => {
      res.writeHead(204);
      res.end();
    };

    await expect(new IdpClient({ url: baseUrl }).request('DELETE', '/api/things/1')).resolves.toBeUndefined();
  });

  it('reports a refused connection as SERVER_UNREACHABLE', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const err = await caught(new IdpClient({ url: `http://127.0.0.1:${port}` }).whoami());

    expect(err.code).toBe('SERVER_UNREACHABLE');
    expect(err.message).toBe(`cannot reach the control plane at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(err.hint).toContain('npm start');
    expect(err.exitCode).toBe(1);
  });

  it('reports an unknown host as SERVER_UNREACHABLE', async () => {
    const err = await caught(new IdpClient({ url: 'http://idp.invalid' }).whoami());
    expect(err.code).toBe('SERVER_UNREACHABLE');
  });

  it('reports a timeout as SERVER_UNREACHABLE', async () => {
    handler = () => {
      // never answers
    };

    const err = await caught(new IdpClient({ url: baseUrl, timeoutMs: 100 }).whoami());

    expect(err.code).toBe('SERVER_UNREACHABLE');
    expect(err.message).toContain('no answer within');
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => new IdpClient({ url: 'localhost:7070' })).toThrow(IdpError);
    expect(() => new IdpClient({ url: 'not a url' })).toThrow(/not an http\(s\) URL/);
  });

  it('refuses a token that cannot be sent as a header', () => {
    expect(() => new IdpClient({ url: baseUrl, token: 'abc def' })).toThrow(/cannot be sent/);
  });
});

describe('IdpClient catalog and teams', () => {
  const client = () => new IdpClient({ url: baseUrl, token: 't' });
  const calls = () => seen.map((s) => `${s.method} ${decodeURIComponent(s.url)}`);

  it('maps each catalog method to its endpoint, encoding ids and refs', async () => {
    handler = (req, res) => {
      if (req.method === 'DELETE') {
        res.writeHead(204);
        res.end();
        return;
      }
      json(res, 200, { items: [] });
    };
    const c = client();

    await c.listLocations();
    await c.refreshLocation('loc/1');
    await c.refreshAll();
    await expect(c.deleteLocation('loc 1')).resolves.toBeUndefined();
    await c.catalogErrors();
    await c.catalogErrors('loc-1');
    await c.getEntity('component:default/payments-api');
    await c.dependencies('payments-api', 3);
    await c.dependencies('payments-api');
    await c.impact('users-api');
    await c.oncall('payments-api');
    await c.listTeams();
    await c.getTeam('payments');

    expect(seen[1]!.url).toBe('/api/catalog/idp/locations/loc%2F1/refresh');
    expect(calls()).toEqual([
      'GET /api/catalog/idp/locations',
      'POST /api/catalog/idp/locations/loc/1/refresh',
      'POST /api/catalog/idp/refresh',
      'DELETE /api/catalog/idp/locations/loc 1',
      'GET /api/catalog/idp/errors',
      'GET /api/catalog/idp/errors?location=loc-1',
      'GET /api/catalog/idp/entity?ref=component:default/payments-api',
      'GET /api/catalog/idp/deps?ref=payments-api&depth=3',
      'GET /api/catalog/idp/deps?ref=payments-api',
      'GET /api/catalog/idp/impact?ref=users-api',
      'GET /api/catalog/idp/oncall?ref=payments-api',
      'GET /api/teams',
      'GET /api/teams/payments',
    ]);
  });

  it('registers a location with a JSON body', async () => {
    handler = (_req, res) => json(res, 201, { added: 2 });

    await expect(client().registerLocation({ target: '/srv/catalog', dryRun: true })).resolves.toEqual({ added: 2 });

    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/catalog/idp/locations' });
    expect(JSON.parse(seen[0]!.body)).toEqual({ target: '/srv/catalog', dryRun: true });
  });

  it('passes entity filters and the cursor as query parameters', async () => {
    const page = { items: [], totalItems: 0, nextCursor: null };
    handler = (_req, res) => json(res, 200, page);

    await expect(
      client().listEntities({
        kind: 'component',
        owner: 'payments',
        q: 'pay',
        limit: 2,
        cursor: 'abc=',
        type: undefined,
      }),
    ).resolves.toEqual(page);

    const url = new URL(seen[0]!.url, baseUrl);
    expect(url.pathname).toBe('/api/catalog/idp/entities');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      kind: 'component',
      owner: 'payments',
      q: 'pay',
      limit: '2',
      cursor: 'abc=',
    });
  });
});

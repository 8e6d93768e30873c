// A local stand-in for GitHub's REST API (commit statuses and issue comments): it records every
// call and answers as GitHub does, so tests can assert what idp reported to a pull request. It can
// be taken "down" (503 to everything) to show that reports are retried later. In App mode it is
// also GitHub's App API: the App's JWT is checked (RS256 signature with the App's public key, iss,
// iat and exp, as GitHub does), installation tokens are issued with a short life, and statuses and
// comments accept only a token it issued that has not expired or been revoked.
import { randomBytes, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GithubCall {
  method: string;
  path: string;
  authorization: string | undefined;
  /** The JSON body sent (null when there was none or it was not JSON). */
  body: Record<string, unknown> | null;
  /** The status code the fake answered with. */
  answered: number;
}

export interface GithubComment {
  id: number;
  repo: string;
  number: number;
  body: string;
  updates: number;
}

export interface GithubFake {
  /** http://127.0.0.1:<port> — set as previews.github.apiUrl. */
  url: string;
  calls: GithubCall[];
  /** Commit statuses received, in order: `{repo, sha, state, target_url, description, context}`. */
  statuses(): {
    repo: string;
    sha: string;
    state: string;
    target_url?: string;
    description?: string;
    context?: string;
  }[];
  /** Comments as they stand now, by id. */
  comments: Map<number, GithubComment>;
  /** While down, every request answers 503 (and is still recorded). */
  setDown(down: boolean): void;
  /** While set, statuses and comments answer 307 to this origin (which a client must not follow). */
  setRedirect(origin: string | null): void;
  /** App mode: the claims of every JWT that passed the checks, in order. */
  jwts: { iss: unknown; iat: number; exp: number; at: number }[];
  /** App mode: every installation token issued, in order. */
  issued: { token: string; installationId: number; expiresAt: number }[];
  /** App mode: tokens issued so far are refused from now on (as after a revocation). */
  revokeTokens(): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return null;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export interface GithubFakeApp {
  appId: number | string;
  /** The App's public key: a JWT must be signed with the matching private key. */
  publicKey: KeyObject | string;
  /** Where the App is installed: owner/name → installation id. */
  installations: Record<string, number>;
  /** How long an installation token lives (GitHub: an hour). */
  tokenTtlMs?: number;
}

/** The claims of a JWT GitHub would accept from the App, or why not. */
function checkJwt(
  app: GithubFakeApp,
  authorization: string | undefined,
): { iss: unknown; iat: number; exp: number } | string {
  const m = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(authorization ?? '');
  if (!m) return 'A JSON web token could not be decoded';
  const [, header, payload, signature] = m as unknown as [string, string, string, string];
  let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
  try {
    const h = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown };
    if (h.alg !== 'RS256') return "'alg' must be RS256";
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return 'A JSON web token could not be decoded';
  }
  const signed = verify(
    'RSA-SHA256',
    Buffer.from(`${header}.${payload}`),
    app.publicKey,
    Buffer.from(signature, 'base64url'),
  );
  if (!signed) return 'A JSON web token could not be decoded';
  const now = Math.floor(Date.now() / 1000);
  if (String(claims.iss) !== String(app.appId)) return "'Issuer' claim ('iss') must be the App's id";
  if (typeof claims.iat !== 'number' || claims.iat > now + 60)
    return "'Issued at' claim ('iat') must be an Integer representing a time in the past";
  if (typeof claims.exp !== 'number' || claims.exp <= now)
    return "'Expiration time' claim ('exp') is too far in the past";
  if (claims.exp - now > 600 || claims.exp - claims.iat > 600)
    return "'Expiration time' claim ('exp') is too far in the future";
  return { iss: claims.iss, iat: claims.iat, exp: claims.exp };
}

/**
 * Starts the fake. `token`, when given, must come as `Bearer <token>` or the answer is 401; with
 * `app`, the App endpoints answer and only the installation tokens issued are accepted.
 */
export async function startGithubFake(opts: { token?: string; app?: GithubFakeApp } = {}): Promise<GithubFake> {
  const calls: GithubCall[] = [];
  const comments = new Map<number, GithubComment>();
  const jwts: GithubFake['jwts'] = [];
  const issued: GithubFake['issued'] = [];
  let revokedBefore = 0;
  let down = false;
  let redirect: string | null = null;
  let nextId = 1000;

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const call: GithubCall = {
        method: req.method ?? 'GET',
        path,
        authorization: req.headers.authorization,
        body,
        answered: 0,
      };
      calls.push(call);
      const answer = (status: number, json: unknown): void => {
        call.answered = status;
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(json));
      };
      if (down) return answer(503, { message: 'Service Unavailable' });
      const { app } = opts;
      if (app) {
        const inst = /^\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(path);
        const exchange = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
        if ((inst && call.method === 'GET') || (exchange && call.method === 'POST')) {
          const claims = checkJwt(app, req.headers.authorization);
          if (typeof claims === 'string') return answer(401, { message: claims });
          jwts.push({ ...claims, at: Date.now() });
          const installationId = inst
            ? Object.entries(app.installations).find(
                ([r]) => r.toLowerCase() === `${inst[1]}/${inst[2]}`.toLowerCase(),
              )?.[1]
            : Object.values(app.installations).find((id) => id === Number(exchange?.[1]));
          if (installationId === undefined) return answer(404, { message: 'Not Found' });
          if (inst) return answer(200, { id: installationId, app_id: app.appId });
          const token = `ghs_${randomBytes(18).toString('hex')}`;
          const expiresAt = Date.now() + (app.tokenTtlMs ?? 3_600_000);
          issued.push({ token, installationId, expiresAt });
          return answer(201, {
            token,
            expires_at: new Date(expiresAt).toISOString(),
            permissions: { statuses: 'write', pull_requests: 'write', issues: 'write' },
            repository_selection: 'all',
          });
        }
        const valid = issued.find(
          (t, i) => i >= revokedBefore && req.headers.authorization === `Bearer ${t.token}` && t.expiresAt > Date.now(),
        );
        if (!valid) return answer(401, { message: 'Bad credentials' });
      }
      if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
        return answer(401, { message: 'Bad credentials' });
      }
      if (redirect) {
        call.answered = 307;
        res.writeHead(307, { location: `${redirect}${path}` });
        return res.end();
      }
      let m = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(path);
      if (m && call.method === 'POST') {
        if (!body || !['pending', 'success', 'failure', 'error'].includes(String(body.state))) {
          return answer(422, { message: 'Validation Failed' });
        }
        return answer(201, { id: nextId++, ...body });
      }
      m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(path);
      if (m && call.method === 'POST') {
        if (!body || typeof body.body !== 'string') return answer(422, { message: 'Validation Failed' });
        const c: GithubComment = {
          id: nextId++,
          repo: `${m[1]}/${m[2]}`,
          number: Number(m[3]),
          body: body.body,
          updates: 0,
        };
        comments.set(c.id, c);
        return answer(201, { id: c.id, body: c.body, html_url: `https://github.example/${c.repo}/pull/${c.number}` });
      }
      m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(path);
      if (m && call.method === 'PATCH') {
        const c = comments.get(Number(m[3]));
        if (!c || c.repo !== `${m[1]}/${m[2]}`) return answer(404, { message: 'Not Found' });
        if (!body || typeof body.body !== 'string') return answer(422, { message: 'Validation Failed' });
        c.body = body.body;
        c.updates++;
        return answer(200, { id: c.id, body: c.body });
      }
      return answer(404, { message: 'Not Found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    comments,
    statuses: () =>
      calls
        .filter((c) => c.method === 'POST' && c.answered === 201 && c.path.includes('/statuses/'))
        .map((c) => {
          const [, , owner, name, , sha] = c.path.split('/');
          return { repo: `${owner}/${name}`, sha: sha ?? '', ...(c.body as { state: string }) };
        }),
    setDown: (d) => {
      down = d;
    },
    setRedirect: (origin) => {
      redirect = origin;
    },
    jwts,
    issued,
    revokeTokens: () => {
      revokedBefore = issued.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

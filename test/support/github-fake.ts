// A local stand-in for GitHub's REST API (commit statuses and issue comments): it records every
// call and answers as GitHub does, so tests can assert what idp reported to a pull request. It can
// be taken "down" (503 to everything) to show that reports are retried later.
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

/** Starts the fake; `token`, when given, must come as `Bearer <token>` or the answer is 401. */
export async function startGithubFake(opts: { token?: string } = {}): Promise<GithubFake> {
  const calls: GithubCall[] = [];
  const comments = new Map<number, GithubComment>();
  let down = false;
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
      if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
        return answer(401, { message: 'Bad credentials' });
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

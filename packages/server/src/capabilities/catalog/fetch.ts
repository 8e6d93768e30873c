import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { bareHost, type FetchRules } from './fetch-rules.ts';

export interface FetchLimits {
  /** The whole fetch, redirects included. */
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
}

export const FETCH_LIMITS: Readonly<FetchLimits> = Object.freeze({
  timeoutMs: 10_000,
  maxBytes: 10 * 1024 * 1024,
  maxRedirects: 5,
});

/** Why a fetch failed, in detail: for the server log and for admins' own locations, never for others. */
export class FetchFailed extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * GETs a catalog document. With `rules` (a location a non-admin registered) every address is
 * checked as resolved, and the socket connects to that same checked address (the check runs in
 * the socket's own DNS lookup, so a second answer cannot slip in between); redirects are followed
 * here, each hop checked again. The body is read up to maxBytes while it streams.
 */
export async function fetchDocument(
  url: string,
  rules: FetchRules | null,
  limits: FetchLimits = FETCH_LIMITS,
): Promise<{ text: string; url: string }> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:')
      throw new FetchFailed(`${current.protocol} is not http(s)`);
    const host = bareHost(current.hostname);
    if (rules && ipaddr.isValid(host)) {
      // An IP literal is never looked up, so the socket's lookup would not see it: check it here.
      const refused = rules.refusal(host, host);
      if (refused) throw new FetchFailed(`refused: ${refused}`);
    }
    const res = await get(current, rules, signal);
    if ([301, 302, 303, 307, 308].includes(res.statusCode ?? 0)) {
      res.destroy();
      const location = res.headers.location;
      if (!location) throw new FetchFailed(`answered HTTP ${res.statusCode} without a Location`);
      if (hop >= limits.maxRedirects) throw new FetchFailed(`more than ${limits.maxRedirects} redirects`);
      current = new URL(location, current);
      continue;
    }
    if (res.statusCode !== 200) {
      res.destroy();
      throw new FetchFailed(`answered HTTP ${res.statusCode}`);
    }
    return { text: await readBody(res, limits.maxBytes), url: current.toString() };
  }
}

function get(url: URL, rules: FetchRules | null, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(
      url,
      {
        method: 'GET',
        agent: false,
        signal,
        headers: { accept: 'application/yaml, text/yaml, text/plain;q=0.9, */*;q=0.5', 'user-agent': 'idp-catalog' },
        ...(rules ? { lookup: checkedLookup(rules, bareHost(url.hostname)) } : {}),
      },
      resolvePromise,
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof FetchFailed) reject(err);
      else if (err.name === 'AbortError' || signal.aborted) reject(new FetchFailed('no answer in time'));
      else reject(new FetchFailed(err.code ?? err.message));
    });
    req.end();
  });
}

/** dns.lookup, refusing the connection when any address the name resolves to is not allowed. */
function checkedLookup(rules: FetchRules, host: string): LookupFunction {
  return ((
    hostname: string,
    options: LookupOptions,
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const refused = addresses.map((a) => rules.refusal(host, a.address)).find(Boolean);
      if (refused || addresses.length === 0)
        return callback(new FetchFailed(`refused: ${refused ?? `${host} has no address`}`), '');
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as LookupFunction;
}

function readBody(res: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    res.destroy();
    return Promise.reject(new FetchFailed(`larger than ${maxBytes} bytes`));
  }
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        reject(new FetchFailed(`larger than ${maxBytes} bytes`));
      } else chunks.push(chunk);
    });
    res.on('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (err) => reject(err instanceof FetchFailed ? err : new FetchFailed(err.message)));
    res.on('aborted', () => reject(new FetchFailed('the answer was cut off')));
  });
}

/**
 * `-c` options that make git (curl) connect to the checked addresses of an http(s) remote and
 * never follow a redirect elsewhere; throws FetchFailed when the remote is not allowed.
 */
export async function pinnedGitOptions(repo: string, rules: FetchRules): Promise<string[]> {
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    throw new FetchFailed('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new FetchFailed(`${url.protocol} remotes are for admins' locations; others must be http(s)`);
  const host = bareHost(url.hostname);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const addresses = ipaddr.isValid(host)
    ? [host]
    : await new Promise<string[]>((resolvePromise, reject) =>
        dnsLookup(host, { all: true }, (err, found) =>
          err ? reject(new FetchFailed(err.code ?? err.message)) : resolvePromise(found.map((a) => a.address)),
        ),
      );
  const refused = addresses.map((a) => rules.refusal(host, a)).find(Boolean);
  if (refused || addresses.length === 0) throw new FetchFailed(`refused: ${refused ?? `${host} has no address`}`);
  const pinned = ipaddr.isValid(host)
    ? []
    : ['-c', `http.curloptResolve=${host}:${port}:${addresses.map((a) => (a.includes(':') ? `[${a}]` : a)).join(',')}`];
  return [...pinned, '-c', 'http.followRedirects=false'];
}

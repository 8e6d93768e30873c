// The query gate's HTTP client for Prometheus: node:http over keep-alive connections (a pool per
// origin, kept by the agent), one timer per request. fetch (undici through the WHATWG layers:
// streams, AbortSignal, Headers) cost about 0.2 ms of CPU per forwarded query; this does the
// same work in a fraction of that, which is most of what the gate adds to a small query.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Connections kept open to Prometheus (idle ones are closed after a while and do not hold the process). */
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 128, maxFreeSockets: 16, timeout: 60_000 } as const;
const httpAgent = new HttpAgent(AGENT_OPTIONS);
const httpsAgent = new HttpsAgent(AGENT_OPTIONS);

export interface PrometheusAnswer {
  status: number;
  /** Whether Prometheus said it is JSON (its API answers are; a proxy's error page is not). */
  json: boolean;
  /** As it came (a JSON answer is passed on without being decoded and encoded again). */
  body: Buffer;
}

export interface PrometheusRequestOptions {
  /** The whole exchange, connection to the body's last byte. */
  timeoutMs: number;
  /** A POST with this urlencoded form; a GET without. */
  form?: string;
}

/** One request to Prometheus; rejects on a network error or the timeout, whatever the status. */
export async function prometheusRequest(url: string, opts: PrometheusRequestOptions): Promise<PrometheusAnswer> {
  try {
    return await once(url, opts);
  } catch (err) {
    // A kept-alive connection Prometheus closed just as it was reused: once more on a new one
    // (queries only read, so a second try cannot do anything twice).
    if (err instanceof ReusedSocketError) return once(url, opts);
    throw err;
  }
}

class ReusedSocketError extends Error {}

function once(url: string, opts: PrometheusRequestOptions): Promise<PrometheusAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const https = target.protocol === 'https:';
    const body = opts.form === undefined ? undefined : Buffer.from(opts.form, 'utf8');
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = body.length;
    }
    const options = { method: body ? 'POST' : 'GET', headers, agent: https ? httpsAgent : httpAgent };
    let settled = false;
    /** `closed`: the connection failed before any answer (the only case worth another try). */
    const fail = (err: unknown, closed = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(closed && req.reusedSocket && !gotResponse ? new ReusedSocketError('reused socket', { cause: err }) : err);
    };
    let gotResponse = false;
    const onResponse = (res: IncomingMessage) => {
      gotResponse = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err) => fail(err));
      res.once('close', () => {
        if (!res.complete) fail(new Error('Prometheus closed the connection mid-answer'));
      });
      res.once('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          json: res.headers['content-type']?.includes('json') ?? false,
          body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
        });
      });
    };
    const req = https ? httpsRequest(target, options, onResponse) : httpRequest(target, options, onResponse);
    const timer = setTimeout(() => fail(new Error('Prometheus did not answer in time')), opts.timeoutMs);
    timer.unref();
    req.on('error', (err) => fail(err, true));
    req.end(body);
  });
}

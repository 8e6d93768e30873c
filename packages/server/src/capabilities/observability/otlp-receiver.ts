// The OTLP/HTTP receiver workloads export spans to: POST /v1/traces with an OTLP JSON body, on its
// own loopback port (not the control plane API: nothing else answers here). Each request is
// checked in the order that costs least first: the path, the token (HMAC recomputed, constant
// time; a request without a valid one is refused before its body is read), the token's rate
// limit, the media type, the size (Content-Length, then counted while reading), the JSON depth,
// the spans. What is stored is stamped from the token, whatever the body claims.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { IdpError, isIdpError } from '@idp/contracts';
import { TokenBuckets, type BucketSettings } from '../../auth/rate-limit.ts';
import { parseOtlpJson, type OtlpLimits } from './otlp-json.ts';
import type { TraceStore } from './trace-store.ts';
import { bearerOf, type TraceIdentity, type TraceTokens } from './trace-token.ts';

const gunzipAsync = promisify(gunzip);

export interface OtlpReceiverOptions {
  port: number;
  host?: string;
  tokens: TraceTokens;
  store: TraceStore;
  maxBodyBytes: number;
  limits: OtlpLimits;
  /** Per token (namespace/service/release). */
  rate: BucketSettings;
  log?: (line: string) => void;
}

export const TRACES_PATH = '/v1/traces';

export class OtlpReceiver {
  private readonly server: Server;
  private readonly buckets: TokenBuckets;
  /** Requests refused for a missing or forged token, since start. */
  unauthenticated = 0;

  constructor(private readonly options: OtlpReceiverOptions) {
    this.buckets = new TokenBuckets(options.rate, undefined, 10_000);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(req, res, err));
    });
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 10_000;
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve(this.port);
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** The endpoint workloads are given (OTEL_EXPORTER_OTLP_ENDPOINT). */
  get endpoint(): string {
    const host = this.options.host === undefined || this.options.host === '0.0.0.0' ? '127.0.0.1' : this.options.host;
    return `http://${host}:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== TRACES_PATH || req.method !== 'POST')
      throw new IdpError('NOT_FOUND', `no route ${req.method} ${path} here`, {
        hint: 'This port only receives OTLP/HTTP spans (POST /v1/traces); the control plane API is on its own port.',
      });
    const who = this.options.tokens.verify(bearerOf(req.headers.authorization));
    if (who === undefined) {
      this.unauthenticated++;
      throw new IdpError('UNAUTHENTICATED', 'no valid trace token: spans are accepted only from deployed replicas', {
        hint: 'Export with the headers in OTEL_EXPORTER_OTLP_HEADERS, which each replica is given.',
      });
    }
    const taken = this.buckets.take(`${who.namespace}/${who.service}/${who.release}`);
    if (!taken.ok) {
      res.setHeader('retry-after', String(taken.retryAfterSeconds));
      throw new IdpError('RATE_LIMITED', `${who.service} sends spans faster than it may`, {
        retryAfterSeconds: taken.retryAfterSeconds,
        hint: 'Batch spans (the BatchSpanProcessor) rather than exporting each on its own.',
      });
    }
    const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (type !== 'application/json')
      throw new IdpError(
        'UNSUPPORTED_MEDIA_TYPE',
        `spans are read as OTLP JSON only, not ${type || 'an unnamed type'}`,
        {
          hint: 'Export OTLP/HTTP JSON: OTEL_EXPORTER_OTLP_PROTOCOL=http/json and Content-Type: application/json.',
        },
      );
    const text = await this.body(req);
    const parsed = parseOtlpJson(text, this.options.limits);
    this.store(who, parsed.spans);
    const answer =
      parsed.rejected === 0
        ? {}
        : { partialSuccess: { rejectedSpans: parsed.rejected, errorMessage: parsed.reasons.join('; ') } };
    const body = JSON.stringify(answer);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private store(who: TraceIdentity, spans: Parameters<TraceStore['add']>[3]): void {
    if (spans.length > 0) this.options.store.add(who.namespace, who.service, who.release, spans);
  }

  /** The body as text, at most maxBodyBytes (after gzip, too); a longer one is refused while reading. */
  private async body(req: IncomingMessage): Promise<string> {
    const max = this.options.maxBodyBytes;
    const tooLarge = () =>
      new IdpError('PAYLOAD_TOO_LARGE', `the body is larger than ${max} bytes`, {
        limit: max,
        hint: 'Export smaller batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE).',
      });
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) throw tooLarge();
      chunks.push(chunk);
    }
    let raw = Buffer.concat(chunks);
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'gzip') {
      try {
        raw = await gunzipAsync(raw, { maxOutputLength: max });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
        throw new IdpError('VALIDATION_FAILED', 'the body is not valid gzip', { field: 'body' });
      }
    } else if (encoding !== 'identity') {
      throw new IdpError('UNSUPPORTED_MEDIA_TYPE', `content-encoding ${encoding} is not read here`, {
        hint: 'Send the body plain or gzip-compressed.',
      });
    }
    return raw.toString('utf8');
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const error = isIdpError(err) ? err : new IdpError('INTERNAL', 'the spans could not be read');
    if (!isIdpError(err)) this.options.log?.(`traces: receiver failed: ${(err as Error).message}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(error.toBody());
    // A refused body is not read any further: the connection closes after the answer.
    const unread = !req.complete;
    res.writeHead(error.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(unread ? { connection: 'close' } : {}),
    });
    res.end(body);
    if (unread) res.once('finish', () => req.destroy());
  }
}

// The tokens workloads export spans with. Each replica is given
// OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer <token>, where the token names its namespace,
// service and release and carries an HMAC-SHA256 of them under a key only the control plane has
// (<data-dir>/traces.key, mode 0600). The receiver recomputes the HMAC and compares in constant
// time, so a workload can only ever export as itself: nothing is stored per token, and a token
// stays valid for as long as its release may run (a new key invalidates them all).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PREFIX = 'idpt1';
const KEY_BYTES = 32;
/** Names as the runtime makes them (namespace, service, release version). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export interface TraceIdentity {
  namespace: string;
  service: string;
  release: string;
}

export function traceKeyPath(dataDir: string): string {
  return join(dataDir, 'traces.key');
}

/** The key, made on first use: 32 random bytes, hex, in a 0600 file. */
export function ensureTraceKey(dataDir: string): Buffer {
  const path = traceKeyPath(dataDir);
  if (!existsSync(path)) writeFileSync(path, randomBytes(KEY_BYTES).toString('hex'), { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  if (key.length !== KEY_BYTES)
    throw new Error(`${path} is not ${KEY_BYTES} bytes of hex; remove it to make a new one`);
  return key;
}

export class TraceTokens {
  constructor(private readonly key: Buffer) {}

  /** `idpt1.<base64url of namespace/service/release>.<base64url of the HMAC>`. */
  sign(id: TraceIdentity): string {
    for (const name of [id.namespace, id.service, id.release])
      if (!NAME.test(name)) throw new RangeError(`not a runtime name: ${JSON.stringify(name)}`);
    const payload = `${id.namespace}/${id.service}/${id.release}`;
    return `${PREFIX}.${Buffer.from(payload).toString('base64url')}.${this.mac(payload).toString('base64url')}`;
  }

  /** Who a presented token was signed for; undefined for anything not signed with this key. */
  verify(token: string | undefined): TraceIdentity | undefined {
    if (token === undefined || token.length > 1024) return undefined;
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) return undefined;
    const payload = Buffer.from(parts[1]!, 'base64url').toString('utf8');
    const presented = Buffer.from(parts[2]!, 'base64url');
    const expected = this.mac(payload);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return undefined;
    const [namespace, service, release, ...rest] = payload.split('/');
    if (rest.length > 0 || !namespace || !service || !release) return undefined;
    if (![namespace, service, release].every((name) => NAME.test(name))) return undefined;
    return { namespace, service, release };
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }
}

/** The Authorization header value of a request, as a bearer token. */
export function bearerOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

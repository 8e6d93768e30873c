// Header rewriting for the edge proxy, done in one pass over the raw header list (name, value,
// name, value …). Working on rawHeaders keeps the original spelling and repeated headers, and
// never builds Node's lower-cased `headers` objects, which is a measurable share of a proxied
// request's CPU time.

/** Case-insensitive name test; the exact spelling is tried first because it is the usual one. */
function named(name: string, lower: string): boolean {
  return name === lower || name.toLowerCase() === lower;
}

function isPlainConnection(value: string): boolean {
  return value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close';
}

/** Names a Connection header declares hop-by-hop (RFC 9110 §7.6.1), lower-cased. */
function connectionTokens(value: string): Set<string> {
  return new Set(value.split(',').map((token) => token.trim().toLowerCase()));
}

function dropNamed(headers: string[], names: Set<string>): string[] {
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!names.has(headers[i]!.toLowerCase())) kept.push(headers[i]!, headers[i + 1]!);
  }
  return kept;
}

export interface ForwardedRequestHead {
  /** Raw header list for the backend. */
  headers: string[];
  /** The Host header as the client sent it. */
  host: string | undefined;
  /** The request carries a body (content-length > 0 or a transfer-encoding). */
  hasBody: boolean;
  /** The client's W3C traceparent, left out of `headers`: the proxy sends its own (its span as the parent). */
  traceparent: string | undefined;
}

/**
 * The header list to send upstream: hop-by-hop headers removed (but Transfer-Encoding, which
 * keeps the body's framing), X-Forwarded-For appended to,
 * X-Forwarded-Host/-Proto/-Port set by this proxy (it is the edge: what clients claim is dropped).
 */
export function forwardRequestHead(raw: string[], clientAddress: string, proxyPort: string): ForwardedRequestHead {
  const headers: string[] = [];
  let host: string | undefined;
  let hasBody = false;
  let priorFor: string | undefined;
  let listed: Set<string> | undefined;
  let traceparent: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (name.length) {
      case 2:
        if (named(name, 'te')) continue;
        break;
      case 4:
        if (host === undefined && named(name, 'host')) host = value;
        break;
      case 7:
        if (named(name, 'upgrade')) continue;
        break;
      case 10:
        if (named(name, 'connection')) {
          if (!isPlainConnection(value)) listed = connectionTokens(value);
          continue;
        }
        if (named(name, 'keep-alive')) continue;
        break;
      case 11:
        if (named(name, 'traceparent')) {
          traceparent ??= value;
          continue;
        }
        break;
      case 14:
        if (named(name, 'content-length') && value !== '0') hasBody = true;
        break;
      case 15:
        if (named(name, 'x-forwarded-for')) {
          priorFor = priorFor === undefined ? value : `${priorFor}, ${value}`;
          continue;
        }
        break;
      case 16:
        if (named(name, 'proxy-connection') || named(name, 'x-forwarded-host') || named(name, 'x-forwarded-port'))
          continue;
        break;
      case 17:
        // Transfer-Encoding stays: Node's client chunks the piped body because it sees it.
        if (named(name, 'transfer-encoding')) hasBody = true;
        if (named(name, 'x-forwarded-proto')) continue;
        break;
    }
    headers.push(name, value);
  }
  headers.push(
    'x-forwarded-for',
    priorFor === undefined ? clientAddress : `${priorFor}, ${clientAddress}`,
    'x-forwarded-proto',
    'http',
    'x-forwarded-port',
    proxyPort,
  );
  if (host !== undefined) headers.push('x-forwarded-host', host);
  return { headers: listed === undefined ? headers : dropNamed(headers, listed), host, hasBody, traceparent };
}

/** The header list for the client: hop-by-hop headers removed, X-Idp-Release added. */
export function forwardResponseHeaders(raw: string[], release: string): string[] {
  const headers: string[] = [];
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.length === 10) {
      if (named(name, 'connection')) {
        if (!isPlainConnection(value)) listed = connectionTokens(value);
        continue;
      }
      if (named(name, 'keep-alive')) continue;
    } else if (name.length === 17 && named(name, 'transfer-encoding')) {
      continue; // Node frames the body again for the client
    }
    headers.push(name, value);
  }
  headers.push('x-idp-release', release);
  return listed === undefined ? headers : dropNamed(headers, listed);
}

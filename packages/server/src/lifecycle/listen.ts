import { IdpError } from '@idp/contracts';

/** Why a listen failed, in words, from Node's error code. */
function reason(code: string | undefined): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'the port is already in use';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges)';
    case 'EADDRNOTAVAIL':
      return 'the address is not one of this machine';
    default:
      return 'the address cannot be bound';
  }
}

/**
 * The start-up error for a server (the control plane's HTTP API or the edge proxy) that could not
 * listen: PORT_IN_USE with the address, the system's reason and what to change. Never the stack.
 */
export function listenFailure(
  what: 'control plane' | 'edge proxy' | 'OTLP trace receiver',
  address: { host: string; port: number },
  err: unknown,
): IdpError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  const { host, port } = address;
  const other = port === 65535 ? port - 1 : port + 1;
  const hint =
    what === 'control plane'
      ? `Stop the process holding port ${port} (\`ss -ltnp 'sport = :${port}'\` shows it), or start on another port: idp server --port ${other} (or IDP_PORT=${other}; 0 picks a free one).`
      : `Stop the process holding port ${port} (\`ss -ltnp 'sport = :${port}'\` shows it), or set ${what === 'edge proxy' ? 'IDP_PROXY_PORT' : 'IDP_OTLP_PORT'}=${other} (0 picks a free one).`;
  return new IdpError(
    'PORT_IN_USE',
    `the ${what} cannot listen on ${host}:${port}: ${reason(code)}${code ? ` (${code})` : ''}`,
    {
      field: what === 'control plane' ? 'port' : what === 'edge proxy' ? 'IDP_PROXY_PORT' : 'IDP_OTLP_PORT',
      host,
      port,
      ...(code ? { cause: code } : {}),
      hint,
    },
  );
}

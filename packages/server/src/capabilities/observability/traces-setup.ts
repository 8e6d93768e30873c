// Traces at start-up: the key trace tokens are signed with, the store of workload spans, the OTLP
// receiver listening (its stop registered at once), and the variables every replica is given.
import { IdpError } from '@idp/contracts';
import type { ObservabilityConfig } from '../../config/index.ts';
import { listenFailure, type Lifecycle } from '../../lifecycle/index.ts';
import { OTLP_LIMITS } from './otlp-json.ts';
import { OtlpReceiver, TRACES_PATH } from './otlp-receiver.ts';
import { TraceStore } from './trace-store.ts';
import { ensureTraceKey, TraceTokens } from './trace-token.ts';
import { TraceService, type TraceServiceDeps } from './traces.ts';

export const DEFAULT_OTLP_PORT = 4318;

export interface TracesSetup {
  store: TraceStore;
  receiver: OtlpReceiver;
  /** OTEL_* variables for a release's replicas: the receiver's endpoint and the release's own token. */
  workloadEnv(release: { namespace: string; service: string; version: string }): Record<string, string>;
  service(deps: Omit<TraceServiceDeps, 'store'>): TraceService;
  /** The start-up line. */
  describe(): string;
}

export async function startTraces(opts: {
  settings: ObservabilityConfig['traces'];
  /** Given explicitly (option or IDP_OTLP_PORT): must be had. Else the config's, else 4318 or a free port when that is taken. */
  port: number | undefined;
  host: string;
  dataDir: string;
  lifecycle: Lifecycle;
  log: (line: string) => void;
}): Promise<TracesSetup> {
  const { settings } = opts;
  const explicit = opts.port ?? settings.port;
  if (explicit !== undefined && (!Number.isInteger(explicit) || explicit < 0 || explicit > 65535))
    throw new IdpError('CONFIG_INVALID', `the OTLP port must be a whole number from 0 to 65535 (got ${explicit})`, {
      field: 'IDP_OTLP_PORT',
    });
  const tokens = new TraceTokens(ensureTraceKey(opts.dataDir));
  const store = new TraceStore(settings.spansPerService);
  const make = (port: number) =>
    new OtlpReceiver({
      port,
      host: opts.host,
      tokens,
      store,
      maxBodyBytes: settings.maxBodyKiB * 1024,
      limits: { ...OTLP_LIMITS, maxSpans: settings.maxSpansPerRequest },
      rate: { perMinute: settings.exportsPerMinute, burst: Math.max(10, Math.ceil(settings.exportsPerMinute / 10)) },
      log: opts.log,
    });
  let receiver = make(explicit ?? DEFAULT_OTLP_PORT);
  let note = '';
  try {
    await receiver.listen();
  } catch (err) {
    if (explicit !== undefined || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE')
      throw listenFailure('OTLP trace receiver', { host: opts.host, port: explicit ?? DEFAULT_OTLP_PORT }, err);
    // The default port is someone else's (another idp, a collector): workloads are told the port
    // they are given, so any free one serves them.
    receiver = make(0);
    await receiver.listen();
    note = ` (${DEFAULT_OTLP_PORT} was taken; set IDP_OTLP_PORT to choose)`;
  }
  opts.lifecycle.register('trace receiver', () => receiver.close());
  return {
    store,
    receiver,
    workloadEnv: ({ namespace, service, version }) => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}${TRACES_PATH}`,
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${tokens.sign({ namespace, service, release: version })}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: service,
    }),
    service: (deps) => new TraceService({ ...deps, store }),
    describe: () =>
      `  traces: OTLP/HTTP JSON receiver on ${receiver.endpoint}${TRACES_PATH}${note}; kept in memory (lost at restart), ${settings.spansPerService} spans per service and environment from the proxy and as many from the workload`,
  };
}

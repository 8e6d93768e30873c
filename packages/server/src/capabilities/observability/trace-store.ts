// The spans workloads exported, in memory: one bounded ring per namespace and service (the oldest
// dropped first), so a chatty workload can fill only its own ring and memory stays bounded by
// (services deployed × ring size). Lost at restart, like the proxy's own request spans.
import { SpanRing } from '@idp/runtime-local';
import type { OtlpSpan } from './otlp-json.ts';

export interface WorkloadSpan extends OtlpSpan {
  /** The release version its token was signed for. */
  release: string;
}

export class TraceStore {
  private readonly rings = new Map<string, SpanRing<WorkloadSpan>>();

  constructor(readonly spansPerService: number) {}

  add(namespace: string, service: string, release: string, spans: OtlpSpan[]): void {
    const key = `${namespace}/${service}`;
    let ring = this.rings.get(key);
    if (ring === undefined) {
      ring = new SpanRing<WorkloadSpan>(this.spansPerService);
      this.rings.set(key, ring);
    }
    for (const span of spans) ring.push({ ...span, release });
  }

  /** The spans of a service in a namespace, oldest first (a copy). */
  spans(namespace: string, service: string): WorkloadSpan[] {
    return this.rings.get(`${namespace}/${service}`)?.toArray() ?? [];
  }

  /** Spans held now, over every ring. */
  get size(): number {
    let total = 0;
    for (const ring of this.rings.values()) total += ring.size;
    return total;
  }

  /** Drops a deleted namespace's spans. */
  forgetNamespace(namespace: string): void {
    for (const key of this.rings.keys()) if (key.startsWith(`${namespace}/`)) this.rings.delete(key);
  }
}

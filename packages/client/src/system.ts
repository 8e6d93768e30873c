import { isRecord, type Health, type Readiness } from '@idp/contracts';
import { ApiModule } from './api-module.ts';

export type HealthStatus = Health;
export type ReadinessStatus = Readiness;

/** Liveness and readiness of the control plane. */
export class SystemApi extends ApiModule {
  health(): Promise<HealthStatus> {
    return this.http.request('GET', '/healthz');
  }

  /** Not-ready is an answer, not an error: the server reports it as 503 with the same body. */
  async readiness(): Promise<ReadinessStatus> {
    const res = await this.http.send('GET', '/readyz');
    if (res.status === 503 && isReadinessBody(res.body)) return res.body;
    return this.http.unwrap<ReadinessStatus>('GET', '/readyz', res);
  }
}

function isReadinessBody(body: unknown): body is ReadinessStatus {
  return isRecord(body) && typeof body.status === 'string' && isRecord(body.checks);
}

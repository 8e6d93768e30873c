import type { AuditList, AuditQuery, AuditVerification } from '@idp/contracts';
import { ApiModule } from './api-module.ts';

/** The audit filters; all optional, the server applies its defaults (limit 100). */
export type AuditFilter = Partial<AuditQuery>;

/** The hash-chained audit log. */
export class AuditApi extends ApiModule {
  /** Newest first. */
  listAudit(filter: AuditFilter = {}): Promise<AuditList> {
    return this.http.request('GET', '/api/audit', { query: { ...filter } });
  }

  verifyAudit(): Promise<AuditVerification> {
    return this.http.request('GET', '/api/audit/verify');
  }
}

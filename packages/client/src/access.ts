import type { AccessRequest, AccessRequestList, AccessStats } from '@idp/contracts';
import { ApiModule } from './api-module.ts';

export interface AccessFilter {
  pending?: boolean;
  mine?: boolean;
  toReview?: boolean;
  limit?: number;
}

/** Just-in-time access to production secrets: requests, reviews, grants. */
export class AccessApi extends ApiModule {
  requestAccess(req: { secret: string; reason: string; duration?: string }): Promise<AccessRequest> {
    return this.http.request('POST', '/api/access/requests', { body: req });
  }

  listAccessRequests(filter: AccessFilter = {}): Promise<AccessRequestList> {
    const flag = (v: boolean | undefined) => (v ? 'true' : undefined);
    return this.http.request('GET', '/api/access/requests', {
      query: {
        pending: flag(filter.pending),
        mine: flag(filter.mine),
        toReview: flag(filter.toReview),
        limit: filter.limit,
      },
    });
  }

  getAccessRequest(id: string): Promise<AccessRequest> {
    return this.http.request('GET', accessUrl(id));
  }

  approveAccess(id: string, opts: { duration?: string; reason?: string } = {}): Promise<AccessRequest> {
    return this.http.request('POST', `${accessUrl(id)}/approve`, { body: opts });
  }

  denyAccess(id: string, reason: string): Promise<AccessRequest> {
    return this.http.request('POST', `${accessUrl(id)}/deny`, { body: { reason } });
  }

  revokeAccess(id: string, reason?: string): Promise<AccessRequest> {
    return this.http.request('POST', `${accessUrl(id)}/revoke`, { body: reason ? { reason } : {} });
  }

  accessStats(since?: string): Promise<AccessStats> {
    return this.http.request('GET', '/api/access/stats', { query: { since } });
  }
}

function accessUrl(id: string): string {
  return `/api/access/requests/${encodeURIComponent(id)}`;
}

import type { PolicyCheckRequest, PolicyDecision } from '@idp/contracts';
import { ApiModule } from './api-module.ts';

/** A policy question; `context` defaults to {} on the server. */
export type PolicyQuestion = Omit<PolicyCheckRequest, 'context'> & { context?: Record<string, unknown> };

/** Asking the policy gate what it would decide. */
export class PolicyApi extends ApiModule {
  checkPolicy(question: PolicyQuestion): Promise<PolicyDecision> {
    return this.http.request('POST', '/api/policy/check', { body: question });
  }
}

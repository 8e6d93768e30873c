import { IdpError, PolicyCheckRequest, PolicyDecision } from '@idp/contracts';
import { parseResourceRef } from '@idp/core';
import type { Services, TypedApp } from '../../app.ts';
import { errorResponses } from '../../http/errors.ts';
import { PLATFORM, targetOf } from '../../policy/gate.ts';

export async function policyRoutes(app: TypedApp, s: Services): Promise<void> {
  app.post('/api/policy/check', {
    schema: {
      summary: 'Explain a policy decision: which policies permitted or forbade it',
      tags: ['policy'],
      body: PolicyCheckRequest,
      response: { 200: PolicyDecision, ...errorResponses },
    },
  }, async (req) => {
    await s.gate.enforce(req.ctx, { action: 'policy:check', resource: PLATFORM });
    const { principal, action, resource, context } = req.body;
    const user = s.directory.findUser(principal);
    if (!user) {
      throw new IdpError('USER_NOT_FOUND', `no user "${principal}" in the catalog`, {
        field: 'principal',
        hint: 'Use user:<email> or user:<namespace>/<name>, e.g. user:alice@company.com.',
      });
    }
    const uid = parseResourceRef(resource);
    const resolved = await s.gate.resolve(uid);
    const decision = s.gate.decide(user.ref, { action, resource: resolved.resource, entities: resolved.related, context });
    if (!resolved.found && decision.errors.length > 0) {
      decision.errors.push(`${targetOf(uid)} is not a known resource, so the policies saw it without attributes`);
    }
    return { ...decision, principal: user.ref, action, resource: targetOf(uid) };
  });
}

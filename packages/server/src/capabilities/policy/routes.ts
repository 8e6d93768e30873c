import { IdpError, PolicyCheckRequest, PolicyDecision } from '@idp/contracts';
import { parseResourceRef } from '@idp/core';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { Directory } from '../../identity/index.ts';
import { PLATFORM, targetOf, type PolicyGate } from '../../policy/gate.ts';

/** Under /api/policy. */
export const policyRoutes: RoutesPlugin<{ directory: Directory; gate: PolicyGate }> = async (
  app,
  { directory, gate },
) => {
  app.post(
    '/check',
    {
      schema: {
        summary: 'Explain a policy decision: which policies permitted or forbade it',
        operationId: 'checkPolicy',
        tags: ['policy'],
        body: PolicyCheckRequest,
        response: { 200: PolicyDecision, ...errorResponses },
      },
    },
    async (req) => {
      await gate.enforce(req.ctx, { action: 'policy:check', resource: PLATFORM });
      const { principal, action, resource, context } = req.body;
      const user = directory.findUser(principal);
      if (!user) {
        throw new IdpError('USER_NOT_FOUND', `no user "${principal}" in the catalog`, {
          field: 'principal',
          hint: 'Use user:<email> or user:<namespace>/<name>, e.g. user:alice@company.com.',
        });
      }
      const uid = parseResourceRef(resource);
      // The resolver builds the resource as the real check does (for env:create, the environment
      // it would make from context.from) and may give the context that check would use.
      const asked = context ?? {};
      const resolved = await gate.resolve(uid, { principalRef: user.ref, action, context: asked });
      const decision = gate.decide(user.ref, {
        action,
        resource: resolved.resource,
        entities: resolved.related,
        context: resolved.context ?? asked,
      });
      if (!resolved.found && decision.errors.length > 0) {
        decision.errors.push(`${targetOf(uid)} is not a known resource, so the policies saw it without attributes`);
      }
      return { ...decision, principal: user.ref, action, resource: targetOf(uid) };
    },
  );
};

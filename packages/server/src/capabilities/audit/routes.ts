import { AuditList, AuditQuery, AuditVerification } from '@idp/contracts';
import type { AuditLog } from '../../audit/index.ts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { Directory } from '../../identity/index.ts';
import { PLATFORM, type PolicyGate } from '../../policy/gate.ts';

/** Under /api/audit. */
export const auditRoutes: RoutesPlugin<{ audit: AuditLog; directory: Directory; gate: PolicyGate }> = async (
  app,
  { audit, directory, gate },
) => {
  app.get(
    '',
    {
      schema: {
        summary: 'List audit records, newest first',
        operationId: 'listAuditRecords',
        tags: ['audit'],
        querystring: AuditQuery,
        response: { 200: AuditList, ...errorResponses },
      },
    },
    async (req) => {
      await gate.enforce(req.ctx, { action: 'audit:read', resource: PLATFORM });
      const q = req.query;
      // An actor may be given as an email; the log stores entity refs.
      const actors = q.actor ? [q.actor, directory.findUser(q.actor)?.ref].filter((a): a is string => !!a) : undefined;
      return { items: await audit.list({ ...q, actors }) };
    },
  );

  app.get(
    '/verify',
    {
      schema: {
        summary: 'Verify the hash chain of the whole audit log',
        operationId: 'verifyAuditLog',
        tags: ['audit'],
        response: { 200: AuditVerification, ...errorResponses },
      },
    },
    async (req) => {
      await gate.enforce(req.ctx, { action: 'audit:verify', resource: PLATFORM });
      return audit.verify();
    },
  );
};

import { AuditList, AuditQuery, AuditVerification } from '@idp/contracts';
import type { Services, TypedApp } from '../../app.ts';
import { errorResponses } from '../../http/errors.ts';
import { PLATFORM } from '../../policy/gate.ts';

export async function auditRoutes(app: TypedApp, s: Services): Promise<void> {
  app.get('/api/audit', {
    schema: {
      summary: 'List audit records, newest first',
      tags: ['audit'],
      querystring: AuditQuery,
      response: { 200: AuditList, ...errorResponses },
    },
  }, async (req) => {
    await s.gate.enforce(req.ctx, { action: 'audit:read', resource: PLATFORM });
    const q = req.query;
    // An actor may be given as an email; the log stores entity refs.
    const actors = q.actor ? [q.actor, s.directory.findUser(q.actor)?.ref].filter((a): a is string => !!a) : undefined;
    return { items: await s.audit.list({ ...q, actors }) };
  });

  app.get('/api/audit/verify', {
    schema: {
      summary: 'Verify the hash chain of the whole audit log',
      tags: ['audit'],
      response: { 200: AuditVerification, ...errorResponses },
    },
  }, async (req) => {
    await s.gate.enforce(req.ctx, { action: 'audit:verify', resource: PLATFORM });
    return s.audit.verify();
  });
}

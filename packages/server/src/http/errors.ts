import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { ErrorEnvelope, IdpError } from '@idp/contracts';

/** Maps anything a route or Fastify throws to our envelope; nothing else writes error bodies. */
export function toIdpError(err: unknown): IdpError {
  if (err instanceof IdpError) return err;
  const e = err as FastifyError & { validationContext?: string };
  if (hasZodFastifySchemaValidationErrors(e)) {
    const issues = e.validation.map((v) => ({
      field: fieldOf(e.validationContext, v.instancePath, v.params?.issue as { path?: PropertyKey[] } | undefined),
      message: v.message ?? 'invalid',
    }));
    const first = issues[0]!;
    return new IdpError('VALIDATION_FAILED', `${first.field}: ${first.message}`, { field: first.field, issues });
  }
  if (isResponseSerializationError(e)) {
    return new IdpError('INTERNAL', 'the server produced a response that does not match its schema');
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new IdpError('INVALID_JSON', 'the request body is not valid JSON', { field: 'body' });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new IdpError('PAYLOAD_TOO_LARGE', 'the request body is too large', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new IdpError('UNSUPPORTED_MEDIA_TYPE', `content type ${e.message.split(': ').pop()} is not accepted`, {
        field: 'content-type',
      });
  }
  if (err instanceof SyntaxError && (e.statusCode === 400 || /JSON/.test(e.message))) {
    return new IdpError('INVALID_JSON', 'the request body is not valid JSON', { field: 'body' });
  }
  if (e.statusCode === 404) return new IdpError('NOT_FOUND', e.message);
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return new IdpError('VALIDATION_FAILED', e.message);
  }
  return new IdpError('INTERNAL', 'unexpected server error');
}

function fieldOf(context: string | undefined, instancePath: string, issue?: { path?: PropertyKey[] }): string {
  const path = issue?.path?.length
    ? issue.path.map(String).join('.')
    : instancePath.replace(/^\//, '').replace(/\//g, '.');
  const where =
    context === 'querystring' ? 'query' : context === 'params' ? 'params' : context === 'headers' ? 'header' : 'body';
  return path ? (where === 'body' ? path : `${where}.${path}`) : where;
}

export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const idpErr = toIdpError(err);
  if (idpErr.code === 'INTERNAL') {
    req.log.error({ err, requestId: req.id }, 'unexpected error');
  }
  return reply.code(idpErr.status).type('application/json').send(idpErr.toBody(req.id));
}

/** The error responses every API route declares, so /openapi.json documents the envelope once. */
export const errorResponses = { '4xx': ErrorEnvelope, '5xx': ErrorEnvelope } as const;

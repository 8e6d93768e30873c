// The refusals the environment operations share: not found, not ready, a base environment.
import { IdpError } from '@idp/contracts';
import type { EnvRow } from './types.ts';

export function notFound(name: string): IdpError {
  return new IdpError('ENV_NOT_FOUND', `no environment named ${String(name).slice(0, 80)}`, { name });
}

export function notReady(row: EnvRow, verb: string): IdpError {
  return new IdpError(
    'ENV_NOT_READY',
    `environment ${row.name} is ${row.status}${row.error_step ? ` (step ${row.error_step} failed: ${row.error_message})` : ''}, so it cannot be ${verb}`,
    {
      name: row.name,
      status: row.status,
    },
  );
}

export function assertNotBase(row: EnvRow, verb: string): void {
  if (row.kind === 'base') {
    throw new IdpError(
      'ENV_BASE_PROTECTED',
      `${row.name} is a base environment: it is not ${verb} through env commands`,
      { name: row.name },
    );
  }
}

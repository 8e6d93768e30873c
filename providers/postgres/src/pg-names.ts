// Names that reach PostgreSQL as identifiers: the safe-name check and the snapshot owner role's name.
import { IdpError } from '@idp/contracts';

/**
 * Names that reach SQL as identifiers. Quoting (escapeIdentifier) already makes any text safe;
 * this check is the second belt: a name idp derives never needs more than these characters.
 */
const IDENT = /^[a-z_][a-z0-9_-]{0,62}$/;

export function assertPgName(name: string, what: string): string {
  if (!IDENT.test(name)) {
    throw new IdpError('INVALID_NAME', `${what} "${name.slice(0, 80)}" is not a safe PostgreSQL name`, {
      field: what,
      hint: 'Use lower-case letters, digits, _ and -, starting with a letter or _, at most 63 characters.',
    });
  }
  return name;
}

/** Objects restored into snapshots are owned by this role, so a clone hands them over with one REASSIGN. */
export const SNAPSHOT_OWNER = 'idp_snapshot_owner';

import { IdpError, type AuditVerification } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { recordSpec } from '../../output.ts';

export default class AuditVerify extends BaseCommand<typeof AuditVerify> {
  static override summary = "Check the audit log's hash chain for changed, removed or inserted records.";
  static override description =
    "Exits 0 when the whole chain verifies and 1 (AUDIT_TAMPERED) at the first record that does not. The chain is keyed (HMAC-SHA256 under the control plane's audit key), so a record rewritten and re-hashed without the key is caught; records from before the upgrade stay plain SHA-256 and are shown as unkeyed.";
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -o json'];

  async run(): Promise<void> {
    const result = await this.api.verifyAudit();
    await this.render<AuditVerification>(
      result,
      recordSpec([
        { label: 'OK', value: (v) => v.ok },
        { label: 'Records', value: (v) => v.records },
        { label: 'Head', value: (v) => (v.headSeq === null ? 'empty log' : `seq ${v.headSeq}`) },
        { label: 'Chain', value: (v) => chainOf(v) },
        ...(result.ok
          ? []
          : [
              {
                label: 'First bad',
                value: (v: AuditVerification) => (v.firstBadSeq === null ? null : `seq ${v.firstBadSeq}`),
              },
              { label: 'Problem', value: (v: AuditVerification) => v.problem },
            ]),
      ]),
    );
    if (!result.ok) {
      const where = result.firstBadSeq === null ? '' : ` (first bad record: seq ${result.firstBadSeq})`;
      throw new IdpError('AUDIT_TAMPERED', `${result.problem ?? 'the hash chain does not verify'}${where}`, {
        ...(result.firstBadSeq === null ? {} : { firstBadSeq: result.firstBadSeq }),
      });
    }
  }
}

/** keyed / unkeyed, and from where: older servers do not send the fields. */
function chainOf(v: AuditVerification): string {
  if (v.keyed === undefined) return 'unknown (server predates keyed chains)';
  if (!v.keyed) return 'unkeyed (plain SHA-256)';
  const from = v.keyedFromSeq ?? 1;
  const keyed = `keyed (HMAC-SHA256${v.keyId ? `, key ${v.keyId}` : ''})`;
  return from <= 1 ? keyed : `${keyed} from seq ${from}; seq 1-${from - 1} unkeyed (plain SHA-256, before the upgrade)`;
}

import { IdpError, type AuditVerification } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { recordSpec } from '../../output.ts';

export default class AuditVerify extends BaseCommand<typeof AuditVerify> {
  static override summary = "Check the audit log's hash chain for changed, removed or inserted records.";
  static override description = 'Exits 0 when the whole chain verifies and 1 (AUDIT_TAMPERED) at the first record that does not.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -o json'];

  async run(): Promise<void> {
    const result = await this.api.verifyAudit();
    await this.render<AuditVerification>(result, recordSpec([
      { label: 'OK', value: (v) => v.ok },
      { label: 'Records', value: (v) => v.records },
      { label: 'Head', value: (v) => (v.headSeq === null ? 'empty log' : `seq ${v.headSeq}`) },
      ...(result.ok
        ? []
        : [
            { label: 'First bad', value: (v: AuditVerification) => (v.firstBadSeq === null ? null : `seq ${v.firstBadSeq}`) },
            { label: 'Problem', value: (v: AuditVerification) => v.problem },
          ]),
    ]));
    if (!result.ok) {
      const where = result.firstBadSeq === null ? '' : ` (first bad record: seq ${result.firstBadSeq})`;
      throw new IdpError('AUDIT_TAMPERED', `${result.problem ?? 'the hash chain does not verify'}${where}`, {
        ...(result.firstBadSeq === null ? {} : { firstBadSeq: result.firstBadSeq }),
      });
    }
  }
}

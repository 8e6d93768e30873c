export { AuditLog, type AuditEntry, type ChainKey } from './log.ts';
export { unlockAuditKey, type AuditKey, type UnlockedAuditKey } from './key.ts';

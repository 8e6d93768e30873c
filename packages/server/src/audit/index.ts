export { AuditLog, type AuditEntry } from './log.ts';

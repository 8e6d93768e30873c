export { PolicyEngine } from './engine.ts';
export type { AuthorizeRequest, CedarEntity, Decision, PolicySource } from './engine.ts';
export { formatUid, parseResourceRef } from './refs.ts';
export type { CedarUid } from './refs.ts';
export { DEFAULT_POLICY_DIR, SCHEMA_FILE, loadDefaultPolicySources } from './sources.ts';
export { policyCheckCommand } from './check-command.ts';

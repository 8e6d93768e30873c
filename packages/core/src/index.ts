export * from './policy/index.ts';
export * from './deploy/index.ts';
export { parseDuration, formatDuration } from './durations.ts';
export { assertDnsLabel, isDnsLabel } from './names.ts';
export { shortRef } from './refs.ts';
export { canonicalJson } from './canonical-json.ts';
export * from './yaml/index.ts';

export * from './policy/index.ts';
export * from './deploy/index.ts';
export { closestMatch, editDistance } from './deploy/did-you-mean.ts';
export { parseDuration, formatDuration, formatAge } from './durations.ts';
export { assertDnsLabel, isDnsLabel } from './names.ts';
export { displayRef, shortRef, splitRef } from './refs.ts';
export { canonicalJson } from './canonical-json.ts';
export * from './yaml/index.ts';
export * from './observability/index.ts';

#!/usr/bin/env node
// idp runs its build (packages/cli/dist, `npm run build`) when the build is current, else its
// TypeScript source through tsx, so a changed source file never runs stale code
// (build-state.js). IDP_FROM_SOURCE=1 forces the source run.
import { buildIsUsable } from './build-state.js';

if (process.env.IDP_FROM_SOURCE !== '1' && buildIsUsable()) {
  const { main } = await import('../dist/main.js');
  await main(process.argv.slice(2));
} else {
  // tsx must hook the loader before the first .ts import, so this file stays plain JavaScript.
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/main.ts');
  await main(process.argv.slice(2));
}

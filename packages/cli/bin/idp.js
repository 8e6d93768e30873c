#!/usr/bin/env node
// idp runs its build (packages/cli/dist, `npm run build`) when the build is current, else its
// TypeScript source through tsx, so a changed source file never runs stale code
// (build-state.js). IDP_RUN=source forces the source; IDP_RUN=build forces the build as it is
// (benchmarks and tests that must measure it while the source changes).
import { buildIsUsable, buildState } from './build-state.js';

const mode = process.env.IDP_RUN;
if (mode === 'build' && buildState().state === 'missing') {
  process.stderr.write('idp: IDP_RUN=build but there is no build; run `npm run build`\n');
  process.exit(1);
}

if (mode === 'build' || (mode !== 'source' && buildIsUsable())) {
  const { main } = await import('../dist/main.js');
  await main(process.argv.slice(2));
} else {
  // tsx must hook the loader before the first .ts import, so this path stays plain JavaScript.
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/main.ts');
  await main(process.argv.slice(2));
}

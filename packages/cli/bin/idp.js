#!/usr/bin/env node
// idp runs from TypeScript source (no build step): tsx must hook the loader before the first
// .ts import, so this entry point stays plain JavaScript.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
await main(process.argv.slice(2));

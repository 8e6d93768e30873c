// The render sandbox's entry point. idp runs from TypeScript source; a child process starts with
// no loader, so this file (plain JavaScript) hooks tsx first, as bin/idp.js does.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');

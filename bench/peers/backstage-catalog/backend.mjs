// Backstage's own catalog backend, as a benchmark peer: the standard backend (createBackend from
// @backstage/backend-defaults) with only the catalog plugin. Everything else — database, listen
// port, the file location of the entities, rules, processing interval — comes from the config
// file the benchmark passes (`node backend.mjs --config <file>`).
/* global console, process */
import { createBackend } from '@backstage/backend-defaults';

const backend = createBackend();
backend.add(import('@backstage/plugin-catalog-backend'));
backend.start().catch((err) => {
  console.error(err);
  process.exit(1);
});

// `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) one after
// another and prints each one's figures; last, one table of every figure measured beside a peer
// (bench/table.ts), then every figure.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatTable, tableRows } from './table.ts';

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const summary: Record<string, Record<string, number | string>> = {};
for (const file of files) {
  const name = file.replace(/\.bench\.ts$/, '');
  process.stdout.write(`\n== ${name} ==\n`);
  const mod = await import(pathToFileURL(join(dir, file)).href);
  summary[name] = await mod.run();
}
process.stdout.write('\n== summary ==\n');
if (tableRows().length) process.stdout.write(`${formatTable(tableRows())}\n\nEvery figure:\n`);
for (const [name, figures] of Object.entries(summary)) {
  for (const [k, v] of Object.entries(figures)) process.stdout.write(`${name.padEnd(12)} ${k.padEnd(28)} ${v}\n`);
}

import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCycles } from '../../../scripts/import-cycles.ts';

describe('server modules', () => {
  it('import no module that imports them back (app.ts and the routes included)', () => {
    const cycles = importCycles(resolve(import.meta.dirname)).map((c) => c.join(', '));
    expect(cycles).toEqual([]);
  });
});

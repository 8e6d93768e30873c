import { describe, expect, it } from 'vitest';
import { formatInferred } from '@idp/core';
import { formatInferredNote, formatNodeWarning } from './deploy-format.ts';

describe('inferred notes and the engines.node warning', () => {
  it("prints each note as core's formatInferred does", () => {
    const notes = [
      { field: 'run', value: 'npm start', from: 'package.json scripts.start' },
      { field: 'build', value: 'npm ci --omit=dev', from: 'package-lock.json' },
      { field: 'node', value: '>=20', from: 'package.json engines.node' },
    ] as const;
    expect(notes.map((n) => formatInferredNote(n, 'v20.20.2'))).toEqual([
      'run: npm start (inferred from package.json scripts.start)',
      'build: npm ci --omit=dev (inferred from package-lock.json)',
      'node: >=20 (from package.json engines; runtime has v20.20.2)',
    ]);
    for (const n of notes) expect(formatInferredNote(n, 'v20.20.2')).toBe(formatInferred(n, 'v20.20.2'));
    expect(formatInferredNote(notes[2])).toBe('node: >=20 (from package.json engines)');
  });

  it('warns only when the range excludes the runtime or cannot be read', () => {
    expect(formatNodeWarning({ status: 'ok', range: '>=20', version: 'v20.20.2' })).toBeUndefined();
    expect(formatNodeWarning({ status: 'excluded', range: '>=22', version: 'v20.20.2' })).toBe(
      'Warning: package.json wants Node.js >=22 (engines.node), but the runtime has v20.20.2; the control plane will refuse the deploy (DEPLOY_NODE_UNSUPPORTED). Widen engines.node to include v20.20.2.',
    );
    expect(formatNodeWarning({ status: 'unreadable', range: 'lts', version: 'v20.20.2' })).toContain(
      'is not a semver range',
    );
  });
});

import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStamped, stampOf } from './log-stamp.ts';
import { rotatedFiles, rotateLogFile } from './log-rotation.ts';
import { ReleaseProcesses } from './supervisor.ts';
import { tempDir, waitFor, type TempDir } from './test-helpers.ts';

describe('replica log files: per-line timestamps and rotation', () => {
  let tmp: TempDir;
  beforeAll(() => {
    tmp = tempDir('idp-logfiles-');
  });
  afterAll(() => tmp.remove());

  it('parses the stamp it writes, to the microsecond, and leaves unstamped lines alone', () => {
    const at = Date.parse('2026-12-01T16:18:21.123Z');
    const parsed = parseStamped(`${stampOf(at)}hello world`);
    expect(parsed).toEqual({ ns: BigInt(at) * 1_000_000n, text: 'hello world' });
    expect(parseStamped('plain line')).toEqual({ ns: null, text: 'plain line' });
    expect(parseStamped('2026-12-01T16:18:21Z not ours')).toEqual({ ns: null, text: '2026-12-01T16:18:21Z not ours' });
  });

  it("stamps every line of a replica's stdout and stderr with the time it was written, and keeps its exit code", async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const group = await ReleaseProcesses.start(
      {
        release: 'svc@stamped',
        command: `node -e "console.log('out one'); console.error('err two'); console.log('y'.repeat(150000)); process.stdout.write('no newline'); setTimeout(() => process.exit(3), 50)"`,
        cwd: tmp.dir,
        replicas: 1,
        logDir: join(tmp.dir, 'logs', 'stamped'),
      },
      { crashLoop: { maxExits: 1, windowMs: 60_000 } },
    );
    const file = group.replicas()[0]!.logFile;
    await waitFor('exit', () => group.replicas()[0]!.lastExitCode === 3, 5000);
    await group.stop(1000);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map(parseStamped);
    const texts = lines.map((l) => l.text);
    expect(texts).toContain('out one');
    expect(texts).toContain('err two');
    expect(texts).toContain('no newline');
    expect(texts[0]).toMatch(/^--- idp: replica 1 starting/);
    for (const line of lines) {
      expect(line.ns, line.text).not.toBeNull();
      expect(line.ns! >= before - 1_000_000n).toBe(true);
    }
    expect(group.logTail(0, 1_000_000)).toContain('out one\n');
    // A 150 000-character line comes out as pieces of at most 64 KiB, each stamped.
    const pieces = texts.filter((text) => text.startsWith('y'));
    expect(pieces.map((p) => p.length)).toEqual([65536, 65536, 150000 - 2 * 65536]);
    expect(group.logTail(0, 1_000_000)).not.toMatch(/^\d{4}-/m);
  });

  it('rotates past maxBytes into .1 … .maxFiles, dropping the oldest, and removes copies older than maxAge', () => {
    const file = join(tmp.dir, 'replica-1.log');
    const limits = { maxBytes: 100, maxFiles: 3, maxAgeMs: 60_000 };
    for (let round = 1; round <= 5; round++) {
      writeFileSync(file, `round ${round}\n`.repeat(20));
      expect(rotateLogFile(file, limits)).toBe(true);
      expect(statSync(file).size).toBe(0);
    }
    expect(rotatedFiles(file)).toEqual([`${file}.1`, `${file}.2`, `${file}.3`]);
    expect(readFileSync(`${file}.1`, 'utf8')).toMatch(/^round 5/);
    expect(readFileSync(`${file}.3`, 'utf8')).toMatch(/^round 3/);
    writeFileSync(file, 'small\n');
    expect(rotateLogFile(file, limits)).toBe(false);
    const old = (Date.now() - 120_000) / 1000;
    utimesSync(`${file}.3`, old, old);
    rotateLogFile(file, limits);
    expect(existsSync(`${file}.3`)).toBe(false);
    expect(existsSync(`${file}.2`)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('small\n');
  });
});

import { describe, expect, it } from 'vitest';
import type { TraceResult } from '@idp/contracts';
import { formatMs, formatTraces, formatTraceTree } from './traces-format.ts';

const stamp = { team: 'payments', service: 'payments-api', env: 'staging', namespace: 'staging' };
const span = (over: Partial<TraceResult['spans'][number]>): TraceResult['spans'][number] => ({
  spanId: '1',
  depth: 0,
  name: 'GET /pay',
  kind: 'server',
  source: 'proxy',
  start: '2026-12-01T12:00:00.000Z',
  durationMs: 400,
  status: 'unset',
  release: 'v3',
  attributes: {},
  ...over,
});

describe('traces format', () => {
  it('says durations in ms or s', () => {
    expect(formatMs(3.25)).toBe('3.3 ms');
    expect(formatMs(250)).toBe('250 ms');
    expect(formatMs(1500)).toBe('1.50 s');
    expect(formatMs(12_345)).toBe('12.3 s');
  });

  it('lists requests as a table, nothing for none', () => {
    expect(formatTraces({ stamp, traces: [] })).toBe('');
    const text = formatTraces({
      stamp,
      traces: [
        {
          traceId: 'a'.repeat(32),
          spanId: 'b'.repeat(16),
          start: '2026-12-01T12:00:00.123Z',
          durationMs: 412.5,
          method: 'POST',
          path: '/pay',
          status: 502,
          release: 'v3',
          spans: 3,
        },
      ],
    });
    expect(text.split('\n')[1]).toBe(
      `413 ms    502     POST    /pay  v3       -        3      2026-12-01T12:00:00Z  ${'a'.repeat(32)}`,
    );
  });

  it('draws each span as a bar on the trace time line, indented by depth', () => {
    const text = formatTraceTree(
      {
        stamp,
        traceId: 'a'.repeat(32),
        spans: [
          span({}),
          span({
            spanId: '2',
            depth: 1,
            name: 'charge card',
            source: 'workload',
            start: '2026-12-01T12:00:00.200Z',
            durationMs: 200,
            status: 'error',
          }),
        ],
      },
      20,
    );
    expect(text.split('\n')).toEqual([
      `trace ${'a'.repeat(32)} (payments-api in staging, 400 ms)`,
      'GET /pay       |████████████████████|     400 ms  proxy v3',
      '  charge card  |          ██████████|     200 ms  workload v3 error',
      '',
    ]);
    expect(formatTraceTree({ stamp, traceId: 'a'.repeat(32), spans: [] })).toBe('');
  });
});

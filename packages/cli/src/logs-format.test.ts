import { describe, expect, it } from 'vitest';
import type { LogsResult } from '@idp/contracts';
import { formatLogs, logTime } from './logs-format.ts';

const labels = { team: 'payments', service: 'payments-api', env: 'staging', namespace: 'staging' };
const result: LogsResult = {
  status: 'success',
  data: {
    resultType: 'streams',
    result: [
      {
        stream: { ...labels, release: 'v2', replica: '2', level: 'error' },
        values: [['1796141920787620000', '{"level":"error","msg":"boom"}']],
      },
      {
        stream: { ...labels, release: 'v1', replica: '1' },
        values: [
          ['1796141921000000000', 'newest'],
          ['999999999000000000', 'oldest (fewer digits)'],
        ],
      },
    ],
  },
};

describe('idp logs formatting', () => {
  it('prints `<time> <release> r<N> <line>` oldest first across streams, colour-free when asked', () => {
    expect(formatLogs(result, false)).toBe(
      [
        '2001-09-09T01:46:39.000Z v1 r1 oldest (fewer digits)',
        '2026-12-01T16:18:40.787Z v2 r2 {"level":"error","msg":"boom"}',
        '2026-12-01T16:18:41.000Z v1 r1 newest',
        '',
      ].join('\n'),
    );
    expect(formatLogs({ ...result, data: { resultType: 'streams', result: [] } }, false)).toBe('');
  });

  it('colours the time, the replica and a level on a terminal', () => {
    const coloured = formatLogs(result, true).split('\n')[1]!;
    expect(coloured).toContain('\x1b[31m{"level":"error","msg":"boom"}\x1b[0m');
    expect(coloured).toContain(`\x1b[2m${logTime('1796141920787620000')}\x1b[0m`);
  });
});

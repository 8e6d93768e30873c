import { describe, expect, it } from 'vitest';
import type { Deployment } from '@idp/contracts';
import { formatDeployLogTail } from './deploy-format-log-tail.ts';

const base = { service: 'payments-api', env: 'staging' } as Deployment;

describe("a failed rollout's log tail", () => {
  it('prints the lines under a heading, and how to read more', () => {
    const text = formatDeployLogTail({
      ...base,
      logTail: { release: 'v7', replica: 2, lines: ['boot', 'fatal: cannot open the ledger'] },
    });
    expect(text).toBe(
      [
        'Last 2 log lines of replica 2 (v7):',
        '  │ boot',
        '  │ fatal: cannot open the ledger',
        'More: idp logs payments-api --env=staging --release=v7 --replica=2',
      ].join('\n'),
    );
  });

  it('prints nothing without lines', () => {
    expect(formatDeployLogTail({ ...base, logTail: null })).toBe('');
    expect(formatDeployLogTail(base)).toBe('');
  });
});

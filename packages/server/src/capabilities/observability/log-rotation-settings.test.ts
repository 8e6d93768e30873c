import { describe, expect, it } from 'vitest';
import { OBSERVABILITY_DEFAULTS } from '../../config/index.ts';
import { logRotationOptions } from './log-rotation-settings.ts';

describe('observability.logs as the supervisor options', () => {
  it('turns MiB, copies and the age into bytes, a count and milliseconds', () => {
    expect(logRotationOptions(OBSERVABILITY_DEFAULTS.logs)).toEqual({
      logMaxBytes: 10 * 1024 * 1024,
      logMaxFiles: 5,
      logMaxAgeMs: 7 * 86_400_000,
    });
    expect(logRotationOptions({ maxFileMiB: 1, maxFiles: 2, maxAge: '90m' })).toEqual({
      logMaxBytes: 1024 * 1024,
      logMaxFiles: 2,
      logMaxAgeMs: 90 * 60_000,
    });
  });
});

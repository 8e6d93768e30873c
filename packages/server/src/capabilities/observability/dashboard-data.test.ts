import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { checkEnv, legendOf } from './dashboard-data.ts';

describe('dashboard data helpers', () => {
  it('names a series by its legend, or by its labels', () => {
    const labels = { __name__: 'x', release: 'v2', code: '5xx' };
    expect(legendOf(labels, '{{release}} {{ code }} {{missing}}')).toBe('v2 5xx ');
    expect(legendOf(labels, undefined)).toBe('x{code="5xx", release="v2"}');
    expect(legendOf({}, undefined)).toBe('value');
  });

  it('takes an environment name for $env and nothing that could change a query', () => {
    expect(() => checkEnv('staging')).not.toThrow();
    expect(() => checkEnv('feature-x.1')).not.toThrow();
    for (const env of ['staging"} or up{a="', 'a b', '', 'x\\', 'x}', '-x', 'a'.repeat(201)]) {
      let thrown: unknown;
      try {
        checkEnv(env);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, env).toBeInstanceOf(IdpError);
      expect((thrown as IdpError).code).toBe('VALIDATION_FAILED');
    }
  });
});

import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { parsePullRequestRef } from './previews.ts';

describe('parsePullRequestRef', () => {
  it('reads owner/name#number', () => {
    expect(parsePullRequestRef('acme/payments#12')).toEqual({ repo: 'acme/payments', number: 12 });
    expect(parsePullRequestRef(' Acme-Co/pay.ments_2#1 ')).toEqual({ repo: 'Acme-Co/pay.ments_2', number: 1 });
  });

  it('refuses anything else, paths and metacharacters included', () => {
    for (const bad of [
      'acme/payments',
      'acme#1',
      'acme/payments#0',
      'acme/payments#-1',
      '../x#1',
      'a/..#1',
      'a/b/c#1',
      'a/b#1;rm',
      'a/b#99999999999',
      '',
    ]) {
      expect(() => parsePullRequestRef(bad), bad).toThrow(IdpError);
    }
  });
});

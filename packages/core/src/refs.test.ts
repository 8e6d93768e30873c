import { describe, expect, it } from 'vitest';
import { displayRef, shortRef, splitRef } from './refs.ts';

describe('refs', () => {
  it('shortRef drops the default namespace and the kind', () => {
    expect(shortRef('user:default/alice')).toBe('alice');
    expect(shortRef('group:payments')).toBe('payments');
    expect(shortRef('user:ops/alice')).toBe('ops/alice');
    expect(() => shortRef('alice')).toThrow(/not an entity ref/);
    expect(() => shortRef('user:default/')).toThrow(/not an entity ref/);
  });

  it('splitRef fills in the default namespace', () => {
    expect(splitRef('component:payments-api')).toEqual({
      kind: 'component',
      namespace: 'default',
      name: 'payments-api',
    });
  });

  it('displayRef shows people and teams by name, other kinds with their kind', () => {
    expect(displayRef('user:default/alice')).toBe('alice');
    expect(displayRef('group:default/payments')).toBe('payments');
    expect(displayRef('group:ops/payments')).toBe('ops/payments');
    expect(displayRef('component:default/payments-api')).toBe('component:payments-api');
    expect(displayRef('resource:billing/ledger-db')).toBe('resource:billing/ledger-db');
  });

  it('displayRef leaves what is not a ref as it is', () => {
    expect(displayRef('alice@company.com')).toBe('alice@company.com');
    expect(displayRef('config')).toBe('config');
    expect(displayRef(null)).toBe('-');
    expect(displayRef(undefined)).toBe('-');
  });
});

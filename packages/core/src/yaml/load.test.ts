import { describe, expect, it } from 'vitest';
import { CATALOG_YAML_LIMITS, YamlError, loadYamlDocuments } from './index.ts';

const values = (text: string) => loadYamlDocuments(text, CATALOG_YAML_LIMITS).map((d) => d.value);

const limitOf = (text: string) => {
  try {
    loadYamlDocuments(text, CATALOG_YAML_LIMITS);
  } catch (err) {
    expect(err).toBeInstanceOf(YamlError);
    return (err as YamlError).limit ?? `syntax: ${(err as YamlError).reason}`;
  }
  throw new Error('expected a YamlError');
};

describe('loadYamlDocuments reads catalog files as Backstage does (YAML 1.2 core schema)', () => {
  it('keeps yes/no/on/off, dates and times as strings, and << as an ordinary key', () => {
    expect(values('a: yes\nb: no\nc: on\nd: off\ne: true\nf: 2024-01-01\ng: 12:30:00\nh: 0o17\ni: .inf\n')).toEqual([
      { a: 'yes', b: 'no', c: 'on', d: 'off', e: true, f: '2024-01-01', g: '12:30:00', h: 15, i: Infinity },
    ]);
    expect(values('base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n')).toEqual([
      { base: { x: 1 }, c: { '<<': { x: 1 }, y: 2 } },
    ]);
  });

  it('reads empty documents as null and an empty file as nothing', () => {
    expect(values('---\n---\na: 1\n...\n---\nb: 2\n')).toEqual([null, { a: 1 }, { b: 2 }]);
    expect(values('')).toEqual([]);
  });

  it('refuses duplicate keys as a syntax error with its line', () => {
    const err = (() => {
      try {
        loadYamlDocuments('a: 1\nb: 2\na: 3\n', CATALOG_YAML_LIMITS);
      } catch (e) {
        return e as YamlError;
      }
      throw new Error('expected a YamlError');
    })();
    expect(err).toBeInstanceOf(YamlError);
    expect(err.limit).toBeUndefined();
    expect(err.line).toBe(3);
    expect(err.message).toMatch(/^YAML syntax error: .*unique/);
  });

  it('stops deep flow and block nesting on the tokens, before building values, quickly', () => {
    const started = performance.now();
    expect(limitOf(`${'['.repeat(50_000)}${']'.repeat(50_000)}\n`)).toBe('maxDepth');
    expect(limitOf(`${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}\n`)).toBe('maxDepth');
    expect(limitOf(`${'- '.repeat(5_000)}x\n`)).toBe('maxDepth');
    const nestedMaps = Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
    expect(limitOf(`${nestedMaps} 1\n`)).toBe('maxDepth');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('allows nesting up to the limit, not beyond', () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}\n`;
    expect(values(nest(CATALOG_YAML_LIMITS.maxDepth))).toHaveLength(1);
    expect(limitOf(nest(CATALOG_YAML_LIMITS.maxDepth + 1))).toBe('maxDepth');
  });
});

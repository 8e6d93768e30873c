import { describe, expect, it } from 'vitest';
import { parseDeploySpec } from '../deploy/parse.ts';
import { CATALOG_YAML_LIMITS, SMALL_YAML_LIMITS, YamlError, loadYamlDocuments } from './index.ts';

/** Nine levels of nine aliases: 342 bytes that expand to 9^9 strings. */
function aliasBomb(levels = 9): string {
  const names = 'abcdefghijklmnop';
  const lines = [`${names[0]}: &${names[0]} [${Array(9).fill('"lol"').join(',')}]`];
  for (let i = 1; i < levels; i++)
    lines.push(
      `${names[i]}: &${names[i]} [${Array(9)
        .fill(`*${names[i - 1]}`)
        .join(',')}]`,
    );
  return `${lines.join('\n')}\n`;
}

const fails = (text: string, limits = CATALOG_YAML_LIMITS) => {
  try {
    loadYamlDocuments(text, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(YamlError);
    return err as YamlError;
  }
  throw new Error('expected a YamlError');
};

describe('YAML parsing limits', () => {
  it('reads ordinary multi-document files with their start lines', () => {
    const docs = loadYamlDocuments('a: 1\n---\nb: [1, 2]\n---\nc: &x {d: 1}\ne: *x\n', CATALOG_YAML_LIMITS);
    expect(docs.map((d) => d.line)).toEqual([1, 3, 5]);
    expect(docs[2]!.value).toEqual({ c: { d: 1 }, e: { d: 1 } });
  });

  it('refuses an alias bomb by its expanded size, quickly', () => {
    const started = performance.now();
    const err = fails(aliasBomb());
    expect(err.limit).toBe('maxNodes');
    expect(err.reason).toMatch(/expanded size limit/);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses too many aliases, deep nesting, too many bytes and too many documents', () => {
    expect(fails(`a: &a 1\nb: [${Array(1001).fill('*a').join(',')}]\n`).limit).toBe('maxAliases');
    expect(fails(`${'['.repeat(100)}${']'.repeat(100)}\n`).limit).toBe('maxDepth');
    expect(fails('a: 1\n'.repeat(20), { ...SMALL_YAML_LIMITS, maxBytes: 50 }).limit).toBe('maxBytes');
    expect(fails('---\na: 1\n'.repeat(5), { ...CATALOG_YAML_LIMITS, maxDocuments: 3 }).limit).toBe('maxDocuments');
    // Depth through aliases: each level nests the previous one.
    const chain = Array.from({ length: 70 }, (_, i) => (i === 0 ? 'l0: &l0 [1]' : `l${i}: &l${i} [*l${i - 1}]`)).join(
      '\n',
    );
    expect(fails(chain).limit).toBe('maxDepth');
  });

  it("gives syntax errors a line, without the parser's snippet of the file", () => {
    const err = fails('a: [secret-value, 2\nb: 3\n');
    expect(err.line).toBe(2);
    expect(err.message).not.toContain('secret-value');
  });

  it('reports a deploy.yaml alias bomb as a problem with a position', () => {
    const result = parseDeploySpec(`x-bomb:\n${aliasBomb().replace(/^/gm, '  ')}`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]!.message).toMatch(/alias count limit|expanded size limit/);
  });
});

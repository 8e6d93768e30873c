import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { loadYamlDocuments, SMALL_YAML_LIMITS, YamlError } from '@idp/core';
import {
  mergeValues,
  parseSetFlags,
  parseSetValue,
  readValuesFile,
  SET_FILE_MAX_BYTES,
  VALUES_FILE_MAX_BYTES,
} from './template-values.ts';

const dir = mkdtempSync(join(tmpdir(), 'idp-values-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (text: string) => loadYamlDocuments(text, SMALL_YAML_LIMITS);
const yamlReason = (err: unknown) => (err instanceof YamlError ? err.message : undefined);
const readValues = (file: string) => readValuesFile(file, load, yamlReason);

function usageError(run: () => unknown): IdpError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(IdpError);
    expect((err as IdpError).code).toBe('USAGE');
    expect((err as IdpError).exitCode).toBe(2);
    return err as IdpError;
  }
  throw new Error('expected a USAGE error');
}

describe('parseSetValue', () => {
  it('reads JSON numbers, booleans, arrays, objects and quoted strings; anything else is the text', () => {
    expect(parseSetValue('2')).toBe(2);
    expect(parseSetValue('-1.5')).toBe(-1.5);
    expect(parseSetValue('true')).toBe(true);
    expect(parseSetValue('false')).toBe(false);
    expect(parseSetValue('["a", 1]')).toEqual(['a', 1]);
    expect(parseSetValue('{"port": 8080}')).toEqual({ port: 8080 });
    expect(parseSetValue('"8080"')).toBe('8080');
    expect(parseSetValue('payments-api')).toBe('payments-api');
    expect(parseSetValue('null')).toBe('null');
    expect(parseSetValue('True')).toBe('True');
    expect(parseSetValue('007')).toBe('007');
    expect(parseSetValue('1.2.3')).toBe('1.2.3');
    expect(parseSetValue('[not json')).toBe('[not json');
    expect(parseSetValue('')).toBe('');
    expect(parseSetValue(' spaced ')).toBe(' spaced ');
    expect(parseSetValue('a=b')).toBe('a=b');
  });

  it('keeps digits a number cannot hold exactly as text', () => {
    expect(parseSetValue('12345678901234567890')).toBe('12345678901234567890');
    expect(parseSetValue('9007199254740991')).toBe(9007199254740991);
    expect(parseSetValue('1e999')).toBe('1e999');
  });
});

describe('parseSetFlags', () => {
  it('splits at the first =, nests dotted keys and lets later flags win', () => {
    expect(
      parseSetFlags([
        'name=payments-api',
        'replicas=2',
        'repo.owner=payments',
        'repo.visibility=private',
        'url=https://x.test/?a=b',
        'replicas=3',
        'empty=',
      ]),
    ).toEqual({
      name: 'payments-api',
      replicas: 3,
      repo: { owner: 'payments', visibility: 'private' },
      url: 'https://x.test/?a=b',
      empty: '',
    });
  });

  it('replaces a value that is not an object when a dotted key goes below it', () => {
    expect(parseSetFlags(['a=1', 'a.b=2'])).toEqual({ a: { b: 2 } });
    expect(parseSetFlags(['a.b=2', 'a=1'])).toEqual({ a: 1 });
  });

  it('reads key=@path as the text of the file; a lone @ is text', () => {
    const file = join(dir, 'description.txt');
    writeFileSync(file, 'A service\nfor payments\n');
    expect(parseSetFlags([`description=@${file}`, 'at=@'])).toEqual({
      description: 'A service\nfor payments\n',
      at: '@',
    });
  });

  it('refuses a flag without key=value, empty key parts, prototype keys and unreadable or oversized files', () => {
    expect(usageError(() => parseSetFlags(['name'])).message).toBe('--set name: expected key=value');
    expect(usageError(() => parseSetFlags(['=x'])).message).toBe('--set =x: expected key=value');
    expect(usageError(() => parseSetFlags(['a..b=1'])).message).toContain('"a..b" has an empty part');
    expect(usageError(() => parseSetFlags(['a.=1'])).message).toContain('has an empty part');
    expect(usageError(() => parseSetFlags(['__proto__.polluted=1'])).message).toContain(
      '"__proto__" cannot be a parameter name',
    );
    expect(usageError(() => parseSetFlags(['a.constructor.prototype.x=1'])).message).toContain(
      'cannot be a parameter name',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(usageError(() => parseSetFlags([`a=@${join(dir, 'missing')}`])).message).toContain(
      'cannot read it (ENOENT)',
    );
    expect(usageError(() => parseSetFlags([`a=@${dir}`])).message).toContain('not a file');
    const big = join(dir, 'big.txt');
    writeFileSync(big, 'x'.repeat(SET_FILE_MAX_BYTES + 1));
    expect(usageError(() => parseSetFlags([`a=@${big}`])).message).toContain(
      `more than the ${SET_FILE_MAX_BYTES} allowed`,
    );
  });
});

describe('mergeValues', () => {
  it('merges objects key by key; anything else replaces', () => {
    expect(
      mergeValues({ name: 'a', repo: { owner: 'x', host: 'h' }, tags: ['a'] }, { repo: { owner: 'y' }, tags: ['b'] }),
    ).toEqual({ name: 'a', repo: { owner: 'y', host: 'h' }, tags: ['b'] });
    expect(mergeValues({ repo: 'text' }, { repo: { owner: 'y' } })).toEqual({ repo: { owner: 'y' } });
  });
});

describe('readValuesFile', () => {
  it('reads a YAML or JSON mapping', () => {
    const yaml = join(dir, 'values.yaml');
    writeFileSync(yaml, 'name: payments-api\nreplicas: 2\nrepo:\n  owner: payments\n');
    expect(readValues(yaml)).toEqual({ name: 'payments-api', replicas: 2, repo: { owner: 'payments' } });
    const json = join(dir, 'values.json');
    writeFileSync(json, '{"name": "web", "tags": ["a"]}');
    expect(readValues(json)).toEqual({ name: 'web', tags: ['a'] });
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '# nothing yet\n');
    expect(readValues(empty)).toEqual({});
  });

  it('refuses what is not a mapping, a syntax error with its line, an alias bomb and an oversized file', () => {
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    expect(usageError(() => readValues(list)).message).toContain(
      'expected a mapping of parameter names to values, found a list',
    );
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: a\n  bad: [\n');
    expect(usageError(() => readValues(broken)).message).toMatch(/YAML syntax error: .*\(line \d+/);
    const bomb = join(dir, 'bomb.yaml');
    const lines = ['a: &a ["xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx"]'];
    for (let i = 0; i < 9; i++) {
      const p = String.fromCharCode(97 + i);
      const n = String.fromCharCode(98 + i);
      lines.push(`${n}: &${n} [*${p},*${p},*${p},*${p},*${p},*${p},*${p},*${p},*${p}]`);
    }
    writeFileSync(bomb, `${lines.join('\n')}\n`);
    expect(usageError(() => readValues(bomb)).message).toMatch(/over the YAML (alias count|expanded size) limit/);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `name: "${'x'.repeat(VALUES_FILE_MAX_BYTES)}"\n`);
    expect(usageError(() => readValues(big)).message).toContain(`more than the ${VALUES_FILE_MAX_BYTES} allowed`);
    const proto = join(dir, 'proto.json');
    writeFileSync(proto, '{"repo": {"constructor": {"prototype": {"x": 1}}}}');
    expect(usageError(() => readValues(proto)).message).toContain('"constructor" cannot be a parameter name');
  });
});

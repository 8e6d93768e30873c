import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { IdpError, isRecord } from '@idp/contracts';

// The values `idp create` sends: a --values file (YAML or JSON) overridden by --set key=value.

/** A --values file is a small document: the project's limits for small YAML files (64 KiB). */
export const VALUES_FILE_MAX_BYTES = 64 * 1024;
/** A `--set key=@file` value: one file's text, e.g. a description or a certificate. */
export const SET_FILE_MAX_BYTES = 256 * 1024;

export type Values = Record<string, unknown>;

/** Keys that would reach Object.prototype when merged, and nothing a template uses. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * `key=value` flags in order, later ones winning: a dotted key sets a nested object
 * (`repo.owner=payments`); a value that reads as a JSON number, boolean, array, object or quoted
 * string is that value (`replicas=2`, `tags=["a","b"]`, `port='"8080"'` for the text 8080),
 * anything else is the text as written; `key=@path` is the text of the file at path.
 */
export function parseSetFlags(flags: readonly string[], readFile: (path: string) => string = readSetFile): Values {
  const values: Values = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) {
      throw usage(
        `--set ${flag}: expected key=value`,
        'Write each parameter as --set key=value, e.g. --set name=payments-api.',
      );
    }
    const path = keyPath(flag.slice(0, eq), `--set ${flag}`);
    const raw = flag.slice(eq + 1);
    setIn(values, path, raw.startsWith('@') && raw.length > 1 ? readFile(raw.slice(1)) : parseSetValue(raw));
  }
  return values;
}

/** `2` → 2, `true` → true, `[1]` / `{"a":1}` → the JSON, `"x"` → x; anything else is the text itself. */
export function parseSetValue(raw: string): unknown {
  const text = raw.trim();
  if (text === '') return raw;
  const first = text[0]!;
  const looksJson = first === '[' || first === '{' || first === '"' || first === '-' || (first >= '0' && first <= '9');
  if (!looksJson && text !== 'true' && text !== 'false') return raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return raw;
  }
  // Digits a number cannot hold exactly (an account id, say) stay the text they are.
  if (
    typeof parsed === 'number' &&
    (!Number.isFinite(parsed) || (Number.isInteger(parsed) && !Number.isSafeInteger(parsed)))
  ) {
    return raw;
  }
  return parsed;
}

/** `base` with `over` laid on top: objects merge key by key, anything else in `over` replaces. */
export function mergeValues(base: Values, over: Values): Values {
  const merged: Values = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeValues(current, value) : value;
  }
  return merged;
}

/**
 * A --values file's mapping (YAML or JSON), read within the small-file YAML limits (size, depth,
 * aliases); `load` is the project's bounded YAML reader (passed in: it is loaded on demand).
 */
export function readValuesFile(
  file: string,
  load: (text: string) => Array<{ value: unknown }>,
  describeYamlError: (err: unknown) => string | undefined,
): Values {
  const text = readBounded(file, VALUES_FILE_MAX_BYTES, 'values');
  let docs: Array<{ value: unknown }>;
  try {
    docs = load(text);
  } catch (err) {
    const reason = describeYamlError(err);
    if (reason === undefined) throw err;
    throw usage(
      `--values ${file}: ${reason}`,
      'Fix the file: one YAML or JSON mapping of parameter names to values.',
      'values',
    );
  }
  const value = docs[0]?.value ?? {};
  if (!isPlainObject(value)) {
    throw usage(
      `--values ${file}: expected a mapping of parameter names to values, found ${describe(value)}`,
      'Write the file as `name: value` lines (YAML) or one JSON object.',
      'values',
    );
  }
  for (const path of pathsOf(value)) keyPath(path.join('.'), `--values ${file}`, path);
  return value;
}

function readSetFile(path: string): string {
  return readBounded(path, SET_FILE_MAX_BYTES, 'set');
}

/** The file's text, refused before it is read when it is larger than `max` bytes. */
function readBounded(file: string, max: number, flag: 'values' | 'set'): string {
  let fd: number | undefined;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw usage(`--${flag} ${file}: not a file`, 'Give the path of a file.', flag);
    if (stat.size > max) {
      throw usage(
        `--${flag} ${file}: the file has ${stat.size} bytes, more than the ${max} allowed`,
        flag === 'values' ? 'Keep only the parameters in the values file.' : 'Pass a smaller file.',
        flag,
      );
    }
    fd = openSync(file, 'r');
    const buffer = Buffer.alloc(max + 1);
    const read = readSync(fd, buffer, 0, max + 1, 0);
    if (read > max)
      throw usage(`--${flag} ${file}: the file grew past ${max} bytes while read`, 'Pass a smaller file.', flag);
    return buffer.subarray(0, read).toString('utf8');
  } catch (err) {
    if (err instanceof IdpError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw usage(`--${flag} ${file}: cannot read it (${code})`, 'Check the path and its permissions.', flag);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The parts of a dotted key; `where` (the flag) starts the message of a refused one. */
function keyPath(key: string, where: string, segments = key.split('.')): string[] {
  for (const segment of segments) {
    if (segment === '') {
      throw usage(
        `${where}: "${key}" has an empty part`,
        'Write nested keys as a.b.c, without leading, trailing or double dots.',
      );
    }
    if (FORBIDDEN_KEYS.has(segment)) {
      throw usage(
        `${where}: "${segment}" cannot be a parameter name`,
        'Use the parameter names `idp template:get` lists.',
      );
    }
  }
  return segments;
}

function setIn(target: Values, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (!isPlainObject(next)) node[segment] = {};
    node = node[segment] as Values;
  }
  node[path[path.length - 1]!] = value;
}

function* pathsOf(value: Values, prefix: string[] = []): Generator<string[]> {
  for (const [key, item] of Object.entries(value)) {
    yield [...prefix, key];
    if (isPlainObject(item)) yield* pathsOf(item, [...prefix, key]);
  }
}

function isPlainObject(value: unknown): value is Values {
  return isRecord(value) && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}

function usage(message: string, hint: string, field = 'set'): IdpError {
  return new IdpError('USAGE', message, { field, hint });
}

// Backstage's placeholders: `$text`, `$json` and `$yaml` in an entity, each read relative to the file
// that holds the entity, under the same rules as the location (see placeholder-read.ts).
import { loadYamlDocuments, YamlError, type YamlLimits } from '@idp/core';
import { isRecord } from '@idp/contracts';
import { readPlaceholderTarget, PlaceholderError } from './placeholder-read.ts';
import type { ReadSession, SourceFile } from './sources.ts';

export { PlaceholderError } from './placeholder-read.ts';

/** How much placeholders may read: per value, per entity and per read of a location. */
export const PLACEHOLDER_LIMITS = Object.freeze({
  /** Bytes of one placeholder's target. */
  maxBytes: 1024 * 1024,
  /** Placeholders in one entity. */
  maxPerEntity: 100,
  /** Placeholders in one read of a location, nested locations included. */
  maxPerLocation: 2_000,
  /** Bytes read by placeholders in one read of a location. */
  maxTotalBytes: 32 * 1024 * 1024,
});

const RESOLVERS = new Set(['text', 'json', 'yaml']);

/** What a $json or $yaml target may hold: one document, bounded like a small catalog file. */
const PLACEHOLDER_YAML_LIMITS: Readonly<YamlLimits> = Object.freeze({
  maxBytes: PLACEHOLDER_LIMITS.maxBytes,
  maxDocuments: 1,
  maxDepth: 64,
  maxAliases: 100,
  maxNodes: 200_000,
  maxChars: 4 * 1024 * 1024,
});

/** The placeholders of one read of a location: the budget, and a cache of targets already read. */
export class PlaceholderBudget {
  private count = 0;
  private bytes = 0;
  private readonly cache = new Map<string, Promise<string>>();

  constructor(private readonly session: ReadSession) {}

  async read(file: SourceFile, target: string): Promise<string> {
    if (++this.count > PLACEHOLDER_LIMITS.maxPerLocation)
      throw new PlaceholderError(
        `more than ${PLACEHOLDER_LIMITS.maxPerLocation} placeholders in this location; the rest are not read`,
      );
    const key = `${file.ref}\u0000${target}`;
    let text = this.cache.get(key);
    if (!text) {
      text = readPlaceholderTarget(this.session, file.base, target, PLACEHOLDER_LIMITS.maxBytes);
      this.cache.set(key, text);
      const got = await text;
      this.bytes += Buffer.byteLength(got);
      if (this.bytes > PLACEHOLDER_LIMITS.maxTotalBytes)
        throw new PlaceholderError(
          `placeholders of this location read more than ${PLACEHOLDER_LIMITS.maxTotalBytes / 1024 / 1024} MiB in all; the rest are not read`,
        );
    }
    return text;
  }
}

/**
 * The entity with each `{ $text | $json | $yaml: target }` replaced by what the target holds, as
 * Backstage's PlaceholderProcessor does: only an object with that one key and a string value is a
 * placeholder (anything else, such as JSON Schema's `$ref`, is left alone), and what a $json or
 * $yaml target holds is not searched for placeholders again. Throws PlaceholderError naming the
 * field when a target cannot be read or parsed.
 */
export async function resolvePlaceholders(raw: unknown, file: SourceFile, budget: PlaceholderBudget): Promise<unknown> {
  let count = 0;
  const walk = async (value: unknown, path: string): Promise<unknown> => {
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (const [i, item] of value.entries()) out.push(await walk(item, `${path}[${i}]`));
      return out;
    }
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    const kind = placeholderKind(value, keys);
    if (kind) {
      if (++count > PLACEHOLDER_LIMITS.maxPerEntity)
        throw new PlaceholderError(`more than ${PLACEHOLDER_LIMITS.maxPerEntity} placeholders in one entity`, path);
      return resolveOne(kind, value[keys[0]!] as string, path, file, budget);
    }
    if (keys.some((k) => k.startsWith('$'))) return value;
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = await walk(value[k], path ? `${path}.${k}` : k);
    return out;
  };
  return walk(raw, '');
}

/** text, json or yaml when `value` is a placeholder (that one key, a string target), else undefined. */
function placeholderKind(value: Record<string, unknown>, keys: readonly string[]): string | undefined {
  const only = keys.length === 1 ? keys[0]! : undefined;
  return only?.startsWith('$') && RESOLVERS.has(only.slice(1)) && typeof value[only] === 'string'
    ? only.slice(1)
    : undefined;
}

/** Whether resolvePlaceholders would read anything for `raw` (the same rules, nothing read). */
export function hasPlaceholders(raw: unknown): boolean {
  const stack: unknown[] = [raw];
  while (stack.length) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
      continue;
    }
    if (!isRecord(value)) continue;
    const keys = Object.keys(value);
    if (placeholderKind(value, keys)) return true;
    if (keys.some((k) => k.startsWith('$'))) continue;
    for (const k of keys) stack.push(value[k]);
  }
  return false;
}

async function resolveOne(
  kind: string,
  target: string,
  path: string,
  file: SourceFile,
  budget: PlaceholderBudget,
): Promise<unknown> {
  const what = `$${kind} ${target}`;
  let text: string;
  try {
    text = await budget.read(file, target);
  } catch (err) {
    if (!(err instanceof PlaceholderError)) throw err;
    throw new PlaceholderError(`${what}: ${err.message}`, path);
  }
  if (kind === 'text') return text;
  let docs;
  try {
    docs = loadYamlDocuments(text, PLACEHOLDER_YAML_LIMITS);
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    throw new PlaceholderError(`${what} is not valid ${kind === 'json' ? 'JSON' : 'YAML'}: ${err.message}`, path);
  }
  if (kind === 'json') {
    try {
      JSON.parse(text);
    } catch (err) {
      throw new PlaceholderError(`${what} is not valid JSON: ${(err as Error).message}`, path);
    }
  }
  if (docs.length !== 1)
    throw new PlaceholderError(`${what} must hold exactly one document, found ${docs.length}`, path);
  return docs[0]!.value;
}

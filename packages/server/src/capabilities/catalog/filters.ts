import { sql, type RawBuilder } from 'kysely';
import { isRecord } from '@idp/contracts';

/**
 * A filter over the search index. Keys and values are lower-cased when built, so comparisons
 * are case-insensitive as in Backstage. A condition without values (and without prefix) asserts
 * that the key exists.
 */
export type EntityFilter =
  | { key: string; values?: string[]; prefix?: string }
  | { not: EntityFilter }
  | { anyOf: EntityFilter[] }
  | { allOf: EntityFilter[] };

export class FilterInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * `filter` query parameters: each parameter is a set of comma-separated conditions that must all
 * hold (`key=value` or `key` for "exists"; a key repeated within one set means any of its
 * values); an entity matches when any set does.
 */
export function parseFilterParams(param: unknown): EntityFilter | undefined {
  if (param === undefined) return undefined;
  const strings = [param].flat();
  if (strings.some((s) => typeof s !== 'string')) throw new FilterInputError('Invalid filter, not a string');
  const sets: EntityFilter[] = [];
  for (const text of strings as string[]) {
    const byKey = new Map<string, { key: string; values?: string[] }>();
    for (const statement of text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const eq = statement.indexOf('=');
      const key = (eq === -1 ? statement : statement.slice(0, eq)).trim().toLowerCase();
      if (!key)
        throw new FilterInputError(
          `Invalid filter, '${statement}' is not a valid statement (expected a string on the form a=b or a= or a)`,
        );
      const cond = byKey.get(key) ?? { key };
      byKey.set(key, cond);
      if (eq !== -1)
        (cond.values ??= []).push(
          statement
            .slice(eq + 1)
            .trim()
            .toLowerCase(),
        );
    }
    if (byKey.size) sets.push({ allOf: [...byKey.values()] });
  }
  return sets.length ? { anyOf: sets } : undefined;
}

/**
 * Backstage's filter predicates ($all, $any, $not, $exists, $in, $hasPrefix, $contains), the
 * body of POST /entities/by-query and POST /entity-facets.
 */
export function parsePredicate(predicate: unknown): EntityFilter {
  if (!isRecord(predicate)) {
    throw new FilterInputError(
      `Invalid filter predicate: top-level primitive values are not supported. Wrap the value in a field expression, e.g. { "kind": ${JSON.stringify(predicate)} }`,
    );
  }
  if ('$not' in predicate) return { not: parsePredicate(predicate.$not) };
  if ('$all' in predicate) return { allOf: asArray(predicate.$all, '$all').map(parsePredicate) };
  if ('$any' in predicate) return { anyOf: asArray(predicate.$any, '$any').map(parsePredicate) };
  return { allOf: Object.entries(predicate).map(([key, value]) => fieldPredicate(key.toLowerCase(), value)) };
}

function asArray(value: unknown, op: string): unknown[] {
  if (!Array.isArray(value)) throw new FilterInputError(`Invalid filter predicate: ${op} must be an array`);
  return value;
}

function isPrimitive(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function fieldPredicate(key: string, value: unknown): EntityFilter {
  if (isPrimitive(value)) return { key, values: [String(value).toLowerCase()] };
  if (isRecord(value)) {
    if ('$exists' in value) return value.$exists ? { key } : { not: { key } };
    if ('$in' in value) {
      const list = asArray(value.$in, '$in');
      if (!list.every(isPrimitive))
        throw new FilterInputError(`Invalid filter predicate: $in for "${key}" must list primitive values`);
      return { key, values: list.map((v) => String(v).toLowerCase()) };
    }
    if ('$hasPrefix' in value) {
      if (typeof value.$hasPrefix !== 'string')
        throw new FilterInputError(`Invalid filter predicate: $hasPrefix for "${key}" must be a string`);
      return { key, prefix: value.$hasPrefix.toLowerCase() };
    }
    if ('$contains' in value) {
      const target = value.$contains;
      if (isPrimitive(target)) return { key, values: [String(target).toLowerCase()] };
      if (key === 'relations' && isRecord(target)) {
        const lowered = Object.fromEntries(Object.entries(target).map(([k, v]) => [k.toLowerCase(), v]));
        const { type, targetref, ...rest } = lowered;
        if (typeof type !== 'string' || Object.keys(rest).length) {
          throw new FilterInputError(
            `The $contains operator for "relations" requires a "type" and optionally a "targetRef" property, but got ${JSON.stringify(target)}`,
          );
        }
        const relKey = `relations.${type.toLowerCase()}`;
        if (targetref === undefined) return { key: relKey };
        if (typeof targetref === 'string') return { key: relKey, values: [targetref.toLowerCase()] };
        if (isRecord(targetref) && Array.isArray(targetref.$in))
          return { key: relKey, values: targetref.$in.map((v) => String(v).toLowerCase()) };
      }
    }
  }
  throw new FilterInputError(
    `Invalid filter predicate value for field "${key}": expected a primitive value, $exists, $in, $hasPrefix or $contains, but got ${JSON.stringify(value)}`,
  );
}

export function andFilters(...filters: (EntityFilter | undefined)[]): EntityFilter | undefined {
  const present = filters.filter((f): f is EntityFilter => f !== undefined);
  if (present.length === 0) return undefined;
  return present.length === 1 ? present[0] : { allOf: present };
}

/**
 * Compiles a filter to SQL on an entity uid column, one `uid IN (select … from catalog_search)`
 * per condition, which both SQLite and PostgreSQL answer from the (key, value, entity_uid) index.
 */
export function filterSql(filter: EntityFilter, uidColumn: string): RawBuilder<boolean> {
  const uid = sql.ref(uidColumn);
  if ('not' in filter) return sql<boolean>`not (${filterSql(filter.not, uidColumn)})`;
  if ('anyOf' in filter) {
    if (filter.anyOf.length === 0) return sql<boolean>`1 = 0`;
    return sql<boolean>`(${sql.join(
      filter.anyOf.map((f) => filterSql(f, uidColumn)),
      sql` or `,
    )})`;
  }
  if ('allOf' in filter) {
    if (filter.allOf.length === 0) return sql<boolean>`1 = 1`;
    return sql<boolean>`(${sql.join(
      filter.allOf.map((f) => filterSql(f, uidColumn)),
      sql` and `,
    )})`;
  }
  const { key, values, prefix } = filter;
  if (prefix !== undefined) {
    const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return sql<boolean>`${uid} in (select entity_uid from catalog_search where key = ${key} and value like ${pattern} escape ${'\\'})`;
  }
  if (values && values.length === 1) {
    return sql<boolean>`${uid} in (select entity_uid from catalog_search where key = ${key} and value = ${values[0]})`;
  }
  if (values && values.length > 1) {
    return sql<boolean>`${uid} in (select entity_uid from catalog_search where key = ${key} and value in (${sql.join(values)}))`;
  }
  return sql<boolean>`${uid} in (select entity_uid from catalog_search where key = ${key})`;
}

/**
 * The same filter as a set of entity uids built with INTERSECT / UNION / EXCEPT over the search
 * index. Counting or semi-joining one set lets PostgreSQL hash it once instead of probing the
 * entity table per row from a bad row estimate (the search table's key and value columns are
 * far from independent), and it is no slower on SQLite.
 */
export function filterSetSql(filter: EntityFilter): RawBuilder<unknown> {
  let n = 0;
  const operand = (f: EntityFilter) => sql`select entity_uid from (${build(f)}) as ${sql.raw(`f${n++}`)}`;
  const build = (f: EntityFilter): RawBuilder<unknown> => {
    if ('not' in f) return sql`select uid as entity_uid from catalog_entities except ${operand(f.not)}`;
    if ('anyOf' in f) {
      if (f.anyOf.length === 0) return sql`select uid as entity_uid from catalog_entities where 1 = 0`;
      return sql.join(f.anyOf.map(operand), sql` union `);
    }
    if ('allOf' in f) {
      if (f.allOf.length === 0) return sql`select uid as entity_uid from catalog_entities`;
      return sql.join(f.allOf.map(operand), sql` intersect `);
    }
    const { key, values, prefix } = f;
    if (prefix !== undefined) {
      const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      return sql`select entity_uid from catalog_search where key = ${key} and value like ${pattern} escape ${'\\'}`;
    }
    if (values && values.length === 1)
      return sql`select entity_uid from catalog_search where key = ${key} and value = ${values[0]}`;
    if (values && values.length > 1)
      return sql`select entity_uid from catalog_search where key = ${key} and value in (${sql.join(values)})`;
    return sql`select entity_uid from catalog_search where key = ${key}`;
  };
  return build(filter);
}

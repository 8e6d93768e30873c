// The SQL of one page of a catalog query: which entities, in order, with their JSON, in one
// statement (one round trip to PostgreSQL). How the page's entities are found depends on the query:
// - ordered by a field: sort the matching ids on the field's search value;
// - many matches of key = value terms: walk one term's index entries, which are in uid order, and
//   stop after one page (checking the other terms entity by entity);
// - otherwise: build the matching set and take the page from it in uid (or ref) order.
import { sql, type RawBuilder } from 'kysely';
import type { Dialect } from '../../store/index.ts';
import type { EntityFilter } from './filters.ts';
import { GENERATION_KEY } from './generation.ts';

/** What a page is taken after or before: the sort value and id of a row. */
export interface PageKeyset {
  value: string | null;
  id: string;
  /** true: the page before this row; false: the page after it. */
  before: boolean;
}

export interface PageQuery {
  filter?: EntityFilter;
  orderField?: { field: string; order: 'asc' | 'desc' };
  /** Order and page on the entity ref instead of the uid. */
  byRef?: boolean;
  /** The filter's and full-text search's conditions on `e.uid`. */
  conds: RawBuilder<boolean>[];
  keyset?: PageKeyset;
  limit: number;
  offset: number;
  /** Whether the query matches so many entities that walking them in order finds a page sooner. */
  walk: boolean;
  /** Also return the catalog generation the page was read at (on every row). */
  withGeneration: boolean;
  dialect: Dialect;
}

export interface PageRow {
  id: string;
  sv: string | null;
  entity: string;
  gen?: string | null;
}

type Term = { key: string; values: string[] };

/** The filter as a conjunction of key = value(s) terms, or undefined when it is anything else. */
export function conjunction(filter: EntityFilter): Term[] | undefined {
  if ('anyOf' in filter) return filter.anyOf.length === 1 ? conjunction(filter.anyOf[0]!) : undefined;
  if ('allOf' in filter) {
    const out: Term[] = [];
    for (const f of filter.allOf) {
      const terms = conjunction(f);
      if (!terms) return undefined;
      out.push(...terms);
    }
    return out;
  }
  if ('not' in filter || filter.prefix !== undefined || !filter.values?.length) return undefined;
  return [{ key: filter.key, values: filter.values }];
}

/**
 * A term checked for one entity: an index probe. On PostgreSQL, OFFSET 0 keeps it a per-row check
 * (a subplan): turned into a join, the planner may build the whole matching set first, which it
 * does when it misjudges the rows (a freshly ingested catalog has no statistics yet).
 */
function termSql(t: Term, uid: RawBuilder<unknown>, dialect: Dialect): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from catalog_search s where s.entity_uid = ${uid} and s.key = ${t.key} and s.value in (${sql.join(t.values)})${dialect === 'postgres' ? sql` offset 0` : sql``})`;
}

/** The page's ids (and sort values), in page order, at most limit + 1 of them. */
function idsSql(q: PageQuery): RawBuilder<unknown> {
  const desc = q.orderField?.order === 'desc';
  const ks = q.keyset;
  const backwards = ks?.before === true;
  // Going backwards reads the rows before the keyset in reverse order; the caller flips them.
  const dir = desc !== backwards ? sql`desc` : sql`asc`;
  const whereSql = q.conds.length ? sql`where ${sql.join(q.conds, sql` and `)}` : sql``;
  const offset = ks ? 0 : q.offset;
  if (q.orderField) {
    let keysetCond: RawBuilder<boolean> | undefined;
    if (ks) {
      const after = desc !== backwards ? sql`<` : sql`>`;
      if (ks.value === null)
        keysetCond = backwards
          ? sql<boolean>`(t.sv is not null or t.id ${after} ${ks.id})`
          : sql<boolean>`(t.sv is null and t.id ${after} ${ks.id})`;
      else
        keysetCond = backwards
          ? sql<boolean>`(t.sv is not null and (t.sv ${after} ${ks.value} or (t.sv = ${ks.value} and t.id ${after} ${ks.id})))`
          : sql<boolean>`(t.sv is null or t.sv ${after} ${ks.value} or (t.sv = ${ks.value} and t.id ${after} ${ks.id}))`;
    }
    const idColumn = q.byRef ? sql`e.ref` : sql`e.uid`;
    const sv = sql`(select min(s.value) from catalog_search s where s.entity_uid = e.uid and s.key = ${q.orderField.field.toLowerCase()})`;
    return sql`
      select t.id, t.sv from (select ${idColumn} as id, ${sv} as sv from catalog_entities e ${whereSql}) t
      ${keysetCond ? sql`where ${keysetCond}` : sql``}
      order by ${backwards ? sql`(t.sv is null) desc` : sql`(t.sv is null) asc`}, t.sv ${dir}, t.id ${dir}
      limit ${q.limit + 1} offset ${offset}`;
  }
  const terms = q.walk && q.filter ? conjunction(q.filter) : undefined;
  const driver = q.byRef ? undefined : terms?.find((t) => t.values.length === 1);
  if (terms && driver) {
    // The driving term's index entries (key, value, entity_uid) are in uid order.
    const conds = [sql<boolean>`d.key = ${driver.key}`, sql<boolean>`d.value = ${driver.values[0]!}`];
    for (const t of terms) if (t !== driver) conds.push(termSql(t, sql.ref('d.entity_uid'), q.dialect));
    if (ks) conds.push(sql<boolean>`d.entity_uid ${backwards ? sql`<` : sql`>`} ${ks.id}`);
    return sql`
      select d.entity_uid as id, null as sv from catalog_search d where ${sql.join(conds, sql` and `)}
      order by d.entity_uid ${dir} limit ${q.limit + 1} offset ${offset}`;
  }
  // Without a sort field the order is the uid (or ref) itself, which an index already holds: the
  // database walks it and stops after one page instead of sorting every match.
  const idColumn = q.byRef ? sql`e.ref` : sql`e.uid`;
  const conds = terms ? terms.map((t) => termSql(t, sql.ref('e.uid'), q.dialect)) : [...q.conds];
  if (ks) conds.push(sql<boolean>`${idColumn} ${backwards ? sql`<` : sql`>`} ${ks.id}`);
  if (conds.length === 0) conds.push(sql<boolean>`1 = 1`);
  return sql`
    select ${idColumn} as id, ${q.byRef ? sql`e.ref` : sql`null`} as sv from catalog_entities e
    where ${sql.join(conds, sql` and `)}
    order by ${idColumn} ${dir} limit ${q.limit + 1} offset ${offset}`;
}

/**
 * One page with its entities' JSON: the ids are found first (sorting thousands of rows with their
 * JSON would be slow), then joined to their entities in the same statement.
 */
export function pageSql(q: PageQuery): RawBuilder<PageRow> {
  const desc = q.orderField?.order === 'desc';
  const backwards = q.keyset?.before === true;
  const dir = desc !== backwards ? sql`desc` : sql`asc`;
  const gen = q.withGeneration ? sql`, (select value from idp_meta where key = ${GENERATION_KEY}) as gen` : sql``;
  return sql<PageRow>`
    select p.id, p.sv, e.entity${gen} from (${idsSql(q)}) p
    join catalog_entities e on e.${sql.raw(q.byRef ? 'ref' : 'uid')} = p.id
    order by ${backwards ? sql`(p.sv is null) desc` : sql`(p.sv is null) asc`}, p.sv ${dir}, p.id ${dir}`;
}

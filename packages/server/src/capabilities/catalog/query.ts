import { PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database, Dialect } from '../../store/index.ts';
import { filterSetSql, filterSql, FilterInputError, type EntityFilter } from './filters.ts';
import { readGeneration } from './generation.ts';
import { entityByRef, type DirectReads } from './entity-by-ref.ts';
import { runPage } from './prepared-pages.ts';
import { pageSql } from './query-page.ts';
import { projectFields } from './search.ts';
import { chunk } from './util.ts';

export interface OrderField {
  field: string;
  order: 'asc' | 'desc';
}

export interface FullTextFilter {
  term: string;
  fields?: string[];
}

/** What a cursor carries: the query it pages through and where the last page ended. */
export interface QueryState {
  filter?: EntityFilter;
  /** The predicate as given (POST by-query); kept so the client sends follow-up pages to POST. */
  query?: unknown;
  orderField?: OrderField;
  /** Internal sort on the entity ref instead of a search key (idp-native list). */
  byRef?: boolean;
  fullText?: FullTextFilter;
  totalItems?: number;
  skipTotal?: boolean;
}

interface Keyset {
  /** Sort value and tie-breaker of the row the page is relative to. */
  value: string | null;
  id: string;
  /** true: the page before this row; false: the page after it. */
  before: boolean;
  /** The first row of the first page, so prevCursor stops there. */
  firstId?: string;
}

interface Cursor extends QueryState {
  keyset?: Keyset;
}

export interface QueryPage {
  /** Final entity JSON texts, or projected objects when fields were asked for. */
  items: (string | Record<string, unknown>)[];
  totalItems: number;
  nextCursor?: string;
  prevCursor?: string;
}

export const DEFAULT_QUERY_LIMIT = 200;
const COUNTS_KEPT = 256;
/** Matches from which a page is found by walking the entities in order rather than building the set. */
const WALK_FROM = 1000;

/** What a count is kept under: the query's filter and full-text search. */
function countKey(cursor: Cursor): string {
  const term = cursor.fullText?.term?.trim();
  return JSON.stringify([cursor.filter ?? null, term ? cursor.fullText : null]);
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64');
}

export function decodeCursor(text: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Cursor;
  } catch (err) {
    throw new FilterInputError(`Malformed cursor: ${(err as Error).message}`);
  }
}

/** Read queries on the catalog tables; every list is filtered, ordered and paged in SQL. */
export class CatalogQueries {
  /** totalItems by query, for the catalog generation it was counted at (see count()). */
  private readonly counts = new Map<string, { generation: number; n: number }>();

  private readonly dialect: Dialect;

  /** One entity's JSON by ref, prepared once (entity-by-ref.ts). */
  readonly byRef: (ref: string) => Promise<string | undefined>;

  /** `direct`: the drivers behind db, for reads prepared once (entity-by-ref.ts, prepared-pages.ts). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly direct?: DirectReads,
  ) {
    this.byRef = entityByRef(db, direct);
    this.dialect = db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
  }

  /**
   * How many entities a query matches. Counting a large match (every service component) costs
   * more than reading its page, and the answer changes only when the catalog does: it is kept per
   * catalog generation, read before counting so a write that commits in between is never hidden.
   */
  private async count(cursor: Cursor, conds: RawBuilder<boolean>[], known?: number): Promise<number> {
    const term = cursor.fullText?.term?.trim();
    const key = countKey(cursor);
    const generation = known ?? (await readGeneration(this.db));
    const kept = this.counts.get(key);
    if (kept?.generation === generation) return kept.n;
    const whereSql = conds.length ? sql`where ${sql.join(conds, sql` and `)}` : sql``;
    const row =
      cursor.filter && !term
        ? await sql<{
            n: number | string;
          }>`select count(*) as n from (${filterSetSql(cursor.filter)}) as matched`.execute(this.db)
        : await sql<{ n: number | string }>`select count(*) as n from catalog_entities e ${whereSql}`.execute(this.db);
    const n = Number(row.rows[0]?.n ?? 0);
    this.counts.delete(key);
    if (this.counts.size >= COUNTS_KEPT) this.counts.delete(this.counts.keys().next().value!);
    this.counts.set(key, { generation, n });
    return n;
  }

  private where(state: QueryState): RawBuilder<boolean>[] {
    const conds: RawBuilder<boolean>[] = [];
    if (state.filter) conds.push(sql<boolean>`e.uid in (${filterSetSql(state.filter)})`);
    const term = state.fullText?.term?.trim().toLowerCase();
    if (term) {
      const fields = (
        state.fullText?.fields?.length ? state.fullText.fields : [state.orderField?.field ?? 'metadata.uid']
      ).map((f) => f.toLowerCase());
      const pattern = `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      conds.push(
        sql<boolean>`e.uid in (select entity_uid from catalog_search where key in (${sql.join(fields)}) and value like ${pattern} escape ${'\\'})`,
      );
    }
    return conds;
  }

  private sortValue(state: QueryState): RawBuilder<string | null> {
    if (state.byRef) return sql<string>`e.ref`;
    if (!state.orderField) return sql<string | null>`null`;
    return sql<
      string | null
    >`(select min(s.value) from catalog_search s where s.entity_uid = e.uid and s.key = ${state.orderField.field.toLowerCase()})`;
  }

  /**
   * Keyset paging over (sort value, uid) with nulls last, forwards or backwards. totalItems is
   * counted on the first page only and then carried in the cursor. A page is one statement
   * (query-page.ts); the count is kept per catalog generation, which the page's statement reads
   * too, so a page whose count is known costs one round trip.
   */
  async query(
    initial: QueryState | undefined,
    cursorText: string | undefined,
    limit: number,
    offset = 0,
    fields?: string[],
  ): Promise<QueryPage> {
    const cursor: Cursor = cursorText ? decodeCursor(cursorText) : { ...initial };
    const conds = this.where(cursor);
    const term = cursor.fullText?.term?.trim();
    const key = countKey(cursor);
    let totalItems = cursor.totalItems ?? (cursor.skipTotal ? 0 : undefined);
    // The count of an earlier generation is good enough to choose how to find the page.
    if (totalItems === undefined && !this.counts.has(key)) totalItems = await this.count(cursor, conds);
    if (limit === 0) return { items: [], totalItems: totalItems ?? (await this.count(cursor, conds)) };
    const estimate = cursor.totalItems ?? this.counts.get(key)?.n ?? totalItems ?? 0;

    const ks = cursor.keyset;
    const backwards = ks?.before === true;
    const rows = await runPage(
      this.db,
      this.direct?.pool,
      pageSql({
        filter: cursor.filter,
        orderField: cursor.orderField,
        byRef: cursor.byRef,
        conds,
        keyset: ks,
        limit,
        offset,
        walk: estimate >= WALK_FROM && !term,
        withGeneration: totalItems === undefined,
        dialect: this.dialect,
      }),
    );
    if (totalItems === undefined) {
      const kept = this.counts.get(key);
      const generation = rows[0] ? Number(rows[0].gen ?? 0) : undefined;
      totalItems = kept && kept.generation === generation ? kept.n : await this.count(cursor, conds, generation);
    }

    const hasMore = rows.length > limit;
    if (hasMore) rows.length = limit;
    if (backwards) rows.reverse();
    const first = rows[0];
    const last = rows[rows.length - 1];
    const firstId = ks?.firstId ?? (offset === 0 ? first?.id : undefined);
    const { keyset: _k, ...state } = cursor;
    const base: Cursor = { ...state, totalItems };
    const page: QueryPage = {
      items: rows.map((r) => (fields ? projectFields(JSON.parse(r.entity), fields) : r.entity)),
      totalItems,
    };
    if (last && (backwards || hasMore))
      page.nextCursor = encodeCursor({ ...base, keyset: { value: last.sv, id: last.id, before: false, firstId } });
    const atStart = first ? first.id === firstId || (backwards && !hasMore) : true;
    if (first && (ks || offset > 0) && !atStart)
      page.prevCursor = encodeCursor({ ...base, keyset: { value: first.sv, id: first.id, before: true, firstId } });
    return page;
  }

  /** GET /entities: ordered by entity ref unless `order` is given; plain offset and limit. */
  async list(
    filter: EntityFilter | undefined,
    order: OrderField[] | undefined,
    limit: number | undefined,
    offset: number,
    fields?: string[],
  ): Promise<{ items: (string | Record<string, unknown>)[]; hasMore: boolean }> {
    const conds = filter ? [filterSql(filter, 'e.uid')] : [];
    const orderSql = order?.length
      ? sql.join([
          ...order.flatMap((o) => {
            const v = sql`(select min(s.value) from catalog_search s where s.entity_uid = e.uid and s.key = ${o.field.toLowerCase()})`;
            return [sql`(${v}) is null asc`, sql`${v} ${o.order === 'desc' ? sql`desc` : sql`asc`}`];
          }),
          sql`e.uid asc`,
        ])
      : sql`e.ref asc`;
    const rows = (
      await sql<{ entity: string }>`
      select e.entity from catalog_entities e
      ${conds.length ? sql`where ${conds[0]!}` : sql``}
      order by ${orderSql}
      ${limit !== undefined ? sql`limit ${limit + 1}` : offset ? sql`limit ${2 ** 31 - 1}` : sql``} ${offset ? sql`offset ${offset}` : sql``}
    `.execute(this.db)
    ).rows;
    const hasMore = limit !== undefined && rows.length > limit;
    if (hasMore) rows.length = limit!;
    return { items: rows.map((r) => (fields ? projectFields(JSON.parse(r.entity), fields) : r.entity)), hasMore };
  }

  /** Entities by ref, in the order asked, null where missing or filtered out. */
  async byRefs(refs: (string | undefined)[], filter: EntityFilter | undefined): Promise<(string | null)[]> {
    const wanted = [...new Set(refs.filter((r): r is string => !!r))];
    const found = new Map<string, string>();
    for (const part of chunk(wanted, 500)) {
      const conds = [sql<boolean>`e.ref in (${sql.join(part)})`];
      if (filter) conds.push(filterSql(filter, 'e.uid'));
      const rows = (
        await sql<{
          ref: string;
          entity: string;
        }>`select e.ref, e.entity from catalog_entities e where ${sql.join(conds, sql` and `)}`.execute(this.db)
      ).rows;
      for (const r of rows) found.set(r.ref, r.entity);
    }
    return refs.map((r) => (r ? (found.get(r) ?? null) : null));
  }

  async byUid(uid: string): Promise<{ entity: string; ref: string; location_id: string } | undefined> {
    return this.db
      .selectFrom('catalog_entities')
      .select(['entity', 'ref', 'location_id'])
      .where('uid', '=', uid)
      .executeTakeFirst();
  }

  async rowByRef(ref: string) {
    return this.db
      .selectFrom('catalog_entities')
      .select(['uid', 'ref', 'kind', 'entity', 'location_id', 'parent_ref'])
      .where('ref', '=', ref)
      .executeTakeFirst();
  }

  /** Facet counts: entities per original value of each key, among those the filter keeps. */
  async facets(
    facets: string[],
    filter: EntityFilter | undefined,
  ): Promise<Record<string, { value: string; count: number }[]>> {
    const keys = [...new Set(facets.map((f) => f.toLowerCase()))];
    const out: Record<string, { value: string; count: number }[]> = {};
    if (keys.length === 0) return out;
    const conds = [sql<boolean>`s.key in (${sql.join(keys)})`, sql<boolean>`s.original_value is not null`];
    if (filter) conds.push(filterSql(filter, 's.entity_uid'));
    const rows = (
      await sql<{ key: string; value: string; n: number | string }>`
      select s.key as key, s.original_value as value, count(*) as n from catalog_search s
      where ${sql.join(conds, sql` and `)}
      group by s.key, s.original_value
      order by s.key, s.original_value
    `.execute(this.db)
    ).rows;
    for (const facet of facets) {
      const key = facet.toLowerCase();
      out[facet] = rows.filter((r) => r.key === key).map((r) => ({ value: String(r.value), count: Number(r.n) }));
    }
    return out;
  }

  /** Kinds and names of entities named `name` in a namespace, for "did you mean" hints. */
  async refsNamed(name: string, namespace = 'default'): Promise<string[]> {
    const rows = await this.db
      .selectFrom('catalog_entities')
      .select('ref')
      .where('name', '=', name.toLowerCase())
      .where('namespace', '=', namespace.toLowerCase())
      .orderBy('ref')
      .limit(20)
      .execute();
    return rows.map((r) => r.ref);
  }
}

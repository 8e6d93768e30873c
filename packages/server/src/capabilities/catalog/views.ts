import type { Kysely } from 'kysely';
import {
  IdpError,
  type DependencyNode,
  type ImpactReport,
  type OnCallContact,
  type Team,
  type TeamSummary,
} from '@idp/contracts';
import type { Directory } from '../../identity/index.ts';
import type { Database } from '../../store/index.ts';
import { CatalogGraph } from './graph.ts';
import { ImpactPages } from './impact-pages.ts';
import type { CatalogQueries } from './query.ts';
import type { CatalogStore } from './store.ts';
import { normalizeRef, splitRef } from './util.ts';

export interface CatalogViewsDeps {
  db: Kysely<Database>;
  /** Its generation says when the graph must be loaded again. */
  store: Pick<CatalogStore, 'generation'>;
  queries: Pick<CatalogQueries, 'byRef' | 'refsNamed'>;
  /** The teams and their members, as the identity sources say. */
  directory: Directory;
  /** catalog.oncall of idp.config.yaml: the fallback contact per team. */
  settings: { oncall: Record<string, string> };
}

/**
 * The catalog's read-only graph views: dependencies, impact, on-call and teams, answered from
 * an in-memory CatalogGraph that is loaded again whenever the catalog generation moves.
 */
export class CatalogViews {
  private graphCache: { generation: number; graph: Promise<CatalogGraph> } | null = null;
  private readonly impacts = new ImpactPages();

  constructor(private readonly deps: CatalogViewsDeps) {}

  async graph(known?: number): Promise<CatalogGraph> {
    const generation = known ?? (await this.deps.store.generation());
    if (!this.graphCache || this.graphCache.generation !== generation) {
      const graph = CatalogGraph.load(this.deps.db);
      this.graphCache = { generation, graph };
      graph.catch(() => {
        if (this.graphCache?.graph === graph) this.graphCache = null;
      });
    }
    return this.graphCache.graph;
  }

  /**
   * Resolves what a user typed: `payments-api` → component:default/payments-api, `group:payments`,
   * `user:alice`, `default/x`. A bare name that is not a component but names exactly one entity
   * of another kind resolves to it. Unknown refs are NOT_FOUND with a hint.
   */
  async resolveRef(input: string, field = 'ref'): Promise<string> {
    const text = input.trim();
    const hasKind = /^[^/]*:/.test(text);
    const ref = normalizeRef(text, 'component');
    if (!ref)
      throw new IdpError('INVALID_REF', `"${input}" is not an entity reference`, {
        field,
        hint: 'Use [kind:][namespace/]name, e.g. payments-api, group:payments or component:default/payments-api.',
      });
    if (await this.deps.queries.byRef(ref)) return ref;
    const { namespace, name } = splitRef(ref);
    const named = await this.deps.queries.refsNamed(name, namespace);
    if (!hasKind && named.length === 1) return named[0]!;
    throw new IdpError('NOT_FOUND', `no entity ${ref} in the catalog`, {
      field,
      ref,
      hint: named.length
        ? `Did you mean ${named.join(' or ')}?`
        : 'List entities with `idp catalog:list`, or check `idp catalog:errors` for entities that failed to load.',
    });
  }

  async dependencies(
    input: string,
    depth: number,
  ): Promise<{ root: DependencyNode; depth: number; truncated: boolean }> {
    const ref = await this.resolveRef(input);
    return (await this.graph()).depsTree(ref, depth);
  }

  /**
   * Everything that breaks when `input` breaks. With `page.limit`, one page of it from
   * `page.cursor` on (the whole report is built once per catalog generation and kept).
   */
  async impact(input: string, page: { limit?: number; cursor?: string } = {}): Promise<ImpactReport> {
    const ref = await this.resolveRef(input);
    const generation = await this.deps.store.generation();
    if (page.limit === undefined && page.cursor === undefined) return this.buildImpact(ref, generation);
    const offset = ImpactPages.offset(generation, ref, page.cursor);
    const graph = await this.graph(generation);
    const report = this.impacts.report(generation, ref, () => this.impactOf(graph, ref));
    return ImpactPages.page(report, generation, offset, page.limit ?? 100);
  }

  private async buildImpact(ref: string, generation: number): Promise<ImpactReport> {
    const graph = await this.graph(generation);
    return this.impacts.report(generation, ref, () => this.impactOf(graph, ref));
  }

  private impactOf(graph: CatalogGraph, ref: string): ImpactReport {
    const memo = new Map<string, OnCallContact>();
    return graph.impact(ref, (team) => {
      let c = memo.get(team);
      if (!c) {
        // Each entry carries only the step that decided its contact; the full route is the same
        // for every entry of a team and is one `idp oncall` away. It keeps hub reports small.
        const full = graph.oncall(team, this.deps.settings.oncall, this.deps.directory);
        memo.set(team, (c = { ...full, route: full.route.slice(-1) }));
      }
      return c;
    });
  }

  async oncall(input: string): Promise<OnCallContact> {
    const ref = await this.resolveRef(input);
    return (await this.graph()).oncall(ref, this.deps.settings.oncall, this.deps.directory);
  }

  async teams(): Promise<TeamSummary[]> {
    const graph = await this.graph();
    const dir = this.deps.directory;
    return [...dir.groups.values()]
      .map((g) => ({
        ref: g.ref,
        name: g.name,
        displayName: g.displayName,
        parent: g.parent,
        members: dir.membersOf(g.ref).length,
        owns: graph.ownedBy(g.ref).length,
      }))
      .sort((a, b) => (a.ref < b.ref ? -1 : 1));
  }

  async team(name: string): Promise<Team> {
    const ref = normalizeRef(name, 'group');
    const dir = this.deps.directory;
    const g = ref ? dir.groups.get(ref) : undefined;
    if (!ref || !g) {
      throw new IdpError('NOT_FOUND', `no team ${name} in the catalog`, {
        field: 'name',
        hint: 'List teams with `idp team:list`.',
      });
    }
    const graph = await this.graph();
    return {
      ref: g.ref,
      name: g.name,
      displayName: g.displayName,
      email: g.email,
      parent: g.parent,
      children: g.children,
      members: dir
        .membersOf(g.ref)
        .map((m) => ({ ref: m.ref, email: dir.users.get(m.ref)?.email ?? null, direct: m.direct })),
      owns: graph.ownedBy(g.ref),
      oncall: graph.oncall(g.ref, this.deps.settings.oncall, dir),
    };
  }
}

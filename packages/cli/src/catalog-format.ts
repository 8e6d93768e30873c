import type { CatalogEntity, DependencyNode, ImpactReport, OnCallContact, RefreshResult, Team } from '@idp/contracts';
import type { DependencyTree } from '@idp/client';
import { displayRef } from '@idp/core/refs';
import { formatCell, formatColumns, formatRecord } from './output.ts';

/**
 * Text views of catalog results for `--output table`. They are pure functions of the API
 * objects so the layouts are tested without a server; json and yaml never come through here.
 */

const DEFAULT_NAMESPACE = 'default';

/** The entity's ref as the server spells it: kind, namespace and name lower-cased. */
export function entityRef(entity: CatalogEntity): string {
  const namespace = entity.metadata.namespace ?? DEFAULT_NAMESPACE;
  return `${entity.kind}:${namespace}/${entity.metadata.name}`.toLowerCase();
}

/** The resolved owner relation when there is one; spec.owner as written otherwise. */
export function entityOwner(entity: CatalogEntity): string | null {
  const related = entity.relations?.find((r) => r.type === 'ownedBy')?.targetRef;
  if (related) return related;
  const owner = specString(entity, 'owner');
  return owner ?? null;
}

export function specString(entity: CatalogEntity, field: string): string | null {
  const value = entity.spec?.[field];
  return typeof value === 'string' && value !== '' ? value : null;
}

/** `idp catalog:get`: the summary, then annotations and relations one per line. */
export function formatEntity(entity: CatalogEntity): string {
  const system =
    entity.relations?.find((r) => r.type === 'partOf' && r.targetRef.startsWith('system:'))?.targetRef ??
    specString(entity, 'system');
  let text = formatRecord([
    ['Ref', displayRef(entityRef(entity))],
    ['Kind', entity.kind],
    ['Type', specString(entity, 'type')],
    ['Owner', displayRef(entityOwner(entity))],
    ['Lifecycle', specString(entity, 'lifecycle')],
    ['System', system ? displayRef(system) : null],
    ['Title', entity.metadata.title],
    ['Description', entity.metadata.description],
    ['Tags', entity.metadata.tags],
  ]);

  const annotations = Object.entries(entity.metadata.annotations ?? {}).sort(([a], [b]) => a.localeCompare(b));
  text += section(
    'Annotations',
    annotations.map(([key, value]) => [key, value]),
  );

  const byType = new Map<string, string[]>();
  for (const r of entity.relations ?? []) {
    const targets = byType.get(r.type) ?? [];
    if (!targets.includes(r.targetRef)) targets.push(r.targetRef);
    byType.set(r.type, targets);
  }
  const relations = [...byType.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, targets]) => [type, targets.sort().map(displayRef).join(', ')] as const);
  text += section('Relations', relations);
  return text;
}

/** A heading, then `key  value` lines indented under it; "none" when there is nothing. */
function section(title: string, pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return `${title}:  none\n`;
  const width = Math.max(...pairs.map(([key]) => key.length));
  return `${title}:\n${pairs.map(([key, value]) => `  ${key.padEnd(width)}  ${formatCell(value)}`.trimEnd()).join('\n')}\n`;
}

/**
 * `idp catalog:deps`: the tree drawn with ├── └── │, each node with its owner, and the
 * markers the server sets: a ref already on the path is `(cycle)` and not expanded again;
 * a ref named by a spec but absent from the catalog is `(missing)`.
 */
export function formatDependencyTree(tree: DependencyTree): string {
  const lines = [nodeLabel(tree.root)];
  const walk = (children: readonly DependencyNode[], prefix: string) => {
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${nodeLabel(child)}`);
      walk(child.children, `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk(tree.root.children, '');
  return `${lines.join('\n')}\n`;
}

function nodeLabel(node: DependencyNode): string {
  const parts = [displayRef(node.ref)];
  if (node.relation && node.relation !== 'dependsOn') parts.push(`[${node.relation}]`);
  if (node.missing) parts.push('(missing)');
  else parts.push(node.owner ? `(${displayRef(node.owner)})` : '(no owner)');
  if (node.cycle) parts.push('(cycle)');
  return parts.join(' ');
}

/**
 * `idp catalog:impact`: dependents grouped by how far they are from the target, then the
 * teams to tell with where to reach them, then any cycles met on the way.
 */
export function formatImpact(report: ImpactReport): string {
  const target = displayRef(report.target);
  if (report.dependents.length === 0) return `Nothing in the catalog depends on ${target}.\n`;

  const count = report.total ?? report.dependents.length;
  const out: string[] = [`${count} ${count === 1 ? 'entity depends' : 'entities depend'} on ${target}.`];
  const depths = [...new Set(report.dependents.map((d) => d.depth))].sort((a, b) => a - b);
  for (const depth of depths) {
    const entries = report.dependents.filter((d) => d.depth === depth);
    const direct = depth === 1;
    out.push('', direct ? 'Depth 1 (depend on it directly):' : `Depth ${depth}:`);
    const headers = ['REF', 'KIND', 'OWNER', 'ON-CALL', ...(direct ? [] : ['VIA'])];
    const rows = entries.map((d) => [
      displayRef(d.ref),
      d.kind,
      displayRef(d.owner),
      d.oncall.contact ?? 'none found',
      ...(direct ? [] : [displayRef(d.via)]),
    ]);
    out.push(indent(formatColumns(headers, rows)));
  }

  out.push('', 'Who must know:');
  if (report.teams.length === 0) out.push('  no dependent has an owner');
  else {
    out.push(
      indent(
        formatColumns(
          ['TEAM', 'CONTACT', 'AFFECTED'],
          report.teams.map((t) => [
            displayRef(t.team),
            t.contact ?? 'none found',
            t.total !== undefined && t.total > t.refs.length
              ? `${t.total} in all${t.refs.length ? `; on this page: ${t.refs.map(displayRef).join(', ')}` : ''}`
              : t.refs.map(displayRef),
          ]),
        ),
      ),
    );
  }
  const unowned = report.dependents.filter((d) => !d.owner);
  if (unowned.length) out.push(`  no owner, nobody to tell: ${unowned.map((d) => displayRef(d.ref)).join(', ')}`);

  if (report.cycles.length) {
    out.push('', 'Dependency cycles:');
    for (const cycle of report.cycles) out.push(`  ${cycle.map(displayRef).join(' → ')}`);
  }
  return `${out.join('\n')}\n`;
}

/** `idp oncall`: who to page first, then each step of how that answer was found. */
export function formatOnCall(contact: OnCallContact): string {
  const head = formatRecord([
    ['Contact', contact.contact ?? 'none found'],
    ['Team', contact.team ? displayRef(contact.team) : null],
    ['Source', contact.source],
  ]);
  const route = contact.route.map((step, i) => `  ${i + 1}. ${step}`);
  return `${head}Route:\n${route.join('\n')}\n`;
}

/** `idp team:get`: the group, its on-call contact, its members and what it owns. */
export function formatTeam(team: Team): string {
  let text = formatRecord([
    ['Team', displayRef(team.ref)],
    ['Name', team.displayName ?? team.name],
    ['Email', team.email],
    ['Parent', team.parent ? displayRef(team.parent) : null],
    ['Children', team.children.map(displayRef)],
    ['On-call', team.oncall.contact ? `${team.oncall.contact} (${team.oncall.source})` : 'none found'],
  ]);
  text += `\nMembers (${team.members.length}):\n`;
  text += team.members.length
    ? indent(
        formatColumns(
          ['USER', 'EMAIL', 'MEMBERSHIP'],
          team.members.map((m) => [displayRef(m.ref), m.email, m.direct ? 'direct' : 'inherited']),
        ),
      ) + '\n'
    : '  none\n';
  text += `\nOwns (${team.owns.length}):\n`;
  text += team.owns.length
    ? indent(
        formatColumns(
          ['REF', 'KIND', 'TYPE'],
          team.owns.map((o) => [displayRef(o.ref), o.kind, o.type]),
        ),
      ) + '\n'
    : '  nothing\n';
  return text;
}

/** The counts a register or refresh reports, for one line of progress or a summary. */
export function refreshCounts(result: RefreshResult): string {
  return `${result.added} added, ${result.updated} updated, ${result.removed} removed, ${result.errors} error${result.errors === 1 ? '' : 's'}`;
}

/** Two spaces before each line; the block's final newline is dropped so callers join lines. */
function indent(block: string): string {
  return block
    .split('\n')
    .map((line) => (line === '' ? line : `  ${line}`))
    .join('\n')
    .replace(/\n$/, '');
}

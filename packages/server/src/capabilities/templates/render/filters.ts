// Backstage's template filters (parseRepoUrl, parseEntityRef, pick, projectSlug), as its
// scaffolder defines them, so existing templates render unchanged. They run inside the render
// sandbox (worker.ts) on plain data: no I/O, no imports.

export interface RepoUrl {
  host: string;
  owner?: string;
  repo: string;
  organization?: string;
  workspace?: string;
  project?: string;
}

/**
 * Backstage's RepoUrlPicker format: `host?owner=o&repo=r` (plus `organization`, `workspace`,
 * `project` for the hosts that use them). `repo` is required, and an `owner` unless the URL names
 * a `workspace` (Bitbucket) or an `organization` (Azure DevOps).
 */
export function parseRepoUrl(repoUrl: unknown): RepoUrl {
  if (typeof repoUrl !== 'string' || repoUrl === '') {
    throw new Error(`parseRepoUrl: expected a repo URL like github.com?owner=o&repo=r, got ${describe(repoUrl)}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(`https://${repoUrl}`);
  } catch {
    throw new Error(`parseRepoUrl: invalid repo URL ${JSON.stringify(repoUrl)}; expected host?owner=o&repo=r`);
  }
  const param = (name: string): string | undefined => parsed.searchParams.get(name) ?? undefined;
  const result: RepoUrl = { host: parsed.host, repo: param('repo') ?? '' };
  for (const key of ['owner', 'organization', 'workspace', 'project'] as const) {
    const value = param(key);
    if (value !== undefined) result[key] = value;
  }
  if (!result.repo) throw new Error(`parseRepoUrl: ${JSON.stringify(repoUrl)} has no repo (…&repo=name)`);
  if (!result.owner && !result.workspace && !result.organization) {
    throw new Error(`parseRepoUrl: ${JSON.stringify(repoUrl)} has no owner (…?owner=name)`);
  }
  return result;
}

/** `owner/repo` of a repo URL, as Backstage's projectSlug filter answers. */
export function projectSlug(repoUrl: unknown): string {
  const { owner, workspace, organization, repo } = parseRepoUrl(repoUrl);
  return `${owner ?? workspace ?? organization}/${repo}`;
}

export interface EntityName {
  kind: string;
  namespace: string;
  name: string;
}

/** `[kind:][namespace/]name` → {kind, namespace, name}; like @backstage/catalog-model's parseEntityRef. */
export function parseEntityRef(ref: unknown, context?: unknown): EntityName {
  const defaults = isRecord(context) ? context : {};
  const defaultKind = typeof defaults.defaultKind === 'string' ? defaults.defaultKind : undefined;
  const defaultNamespace = typeof defaults.defaultNamespace === 'string' ? defaults.defaultNamespace : 'default';
  if (typeof ref !== 'string' || ref === '') {
    throw new Error(`parseEntityRef: expected an entity ref like component:default/name, got ${describe(ref)}`);
  }
  const colon = ref.indexOf(':');
  const slash = ref.indexOf('/');
  const kind = colon > 0 && (slash < 0 || colon < slash) ? ref.slice(0, colon) : undefined;
  const rest = kind === undefined ? ref : ref.slice(colon + 1);
  const at = rest.indexOf('/');
  const namespace = at >= 0 ? rest.slice(0, at) : undefined;
  const name = at >= 0 ? rest.slice(at + 1) : rest;
  const finalKind = kind ?? defaultKind;
  if (!finalKind) throw new Error(`parseEntityRef: ${JSON.stringify(ref)} has no kind and no defaultKind was given`);
  if (!name || namespace === '' || name.includes('/') || name.includes(':')) {
    throw new Error(`parseEntityRef: ${JSON.stringify(ref)} is not of the form [kind:][namespace/]name`);
  }
  return { kind: finalKind, namespace: namespace ?? defaultNamespace, name };
}

/** `obj | pick('key')`: one own property of an object (never an inherited one). */
export function pick(obj: unknown, key: unknown): unknown {
  if (!isRecord(obj) || typeof key !== 'string') return undefined;
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export const BACKSTAGE_FILTERS = { parseRepoUrl, parseEntityRef, pick, projectSlug } as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (undefined)';
  return JSON.stringify(value) ?? typeof value;
}

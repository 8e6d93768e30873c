/**
 * Entity refs (`kind:namespace/name`) as people read them. Dependency-free on purpose: the CLI
 * imports this for every table it prints, and the catalog model's parser costs a third of a second
 * to load.
 */

const DEFAULT_NAMESPACE = 'default';

/** Kinds whose entities are named by their name alone: people and teams. */
const NAMED_KINDS: ReadonlySet<string> = new Set(['user', 'group']);

/** The parts of a full ref; a missing kind, namespace or name is an error, as in the catalog. */
export function splitRef(ref: string): { kind: string; namespace: string; name: string } {
  const colon = ref.indexOf(':');
  const kind = colon > 0 ? ref.slice(0, colon) : '';
  const rest = ref.slice(colon + 1);
  const slash = rest.indexOf('/');
  const namespace = slash >= 0 ? rest.slice(0, slash) : DEFAULT_NAMESPACE;
  const name = slash >= 0 ? rest.slice(slash + 1) : rest;
  if (!kind || !namespace || !name) throw new TypeError(`"${ref}" is not an entity ref (kind:namespace/name)`);
  return { kind, namespace, name };
}

/** `user:default/alice` → `alice`; other namespaces keep theirs: `user:ops/alice` → `ops/alice`. */
export function shortRef(ref: string): string {
  const { namespace, name } = splitRef(ref);
  return namespace === DEFAULT_NAMESPACE ? name : `${namespace}/${name}`;
}

/**
 * The one way the CLI shows a ref: users and groups by {@link shortRef} (`alice`, `payments`,
 * `ops/alice`), every other kind keeps its kind (`component:payments-api`,
 * `resource:billing/ledger-db`) so mixed lists stay unambiguous. Anything that is not a full ref
 * (an e-mail, `config`, a bare name) is shown as it is; nothing is `-`.
 */
export function displayRef(ref: string | null | undefined): string {
  if (!ref) return '-';
  let parts;
  try {
    parts = splitRef(ref);
  } catch {
    return ref;
  }
  const short = shortRef(ref);
  return NAMED_KINDS.has(parts.kind.toLowerCase()) ? short : `${parts.kind}:${short}`;
}

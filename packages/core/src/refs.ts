import { DEFAULT_NAMESPACE, parseEntityRef } from '@backstage/catalog-model';

/** `user:default/alice` → `alice`; other namespaces keep theirs: `user:ops/alice` → `ops/alice`. */
export function shortRef(ref: string): string {
  const { namespace, name } = parseEntityRef(ref);
  return namespace === DEFAULT_NAMESPACE ? name : `${namespace}/${name}`;
}

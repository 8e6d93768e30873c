import { isMap, isNode, isScalar, isSeq, type Document } from 'yaml';
import type { z } from 'zod';

/**
 * Where a zod issue's path points in a parsed YAML document, and which keys the schema accepts
 * there: what a "file:line:column, field, did you mean" error needs, for any YAML file validated
 * by a zod schema (idp.config.yaml, deploy.yaml).
 */
export type SchemaPath = readonly (string | number)[];

/** `auth.rateLimit.burst`, `deploy.canary[1].weight`; empty for the document itself. */
export function formatSchemaPath(path: SchemaPath): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out ? `.${segment}` : segment;
  return out;
}

/**
 * Offset of the node at `path`. A missing node is reported at its nearest existing ancestor:
 * the ancestor's key when it is a mapping value, the item itself when it is a list item.
 */
export function locateInDocument(doc: Document, path: SchemaPath, prefer: 'key' | 'value'): { offset: number } {
  let node: unknown = doc.contents;
  let keyNode: unknown = undefined;
  const start = (n: unknown): number | undefined => (isNode(n) && n.range ? n.range[0] : undefined);
  const fallback = () => ({ offset: start(keyNode) ?? start(node) ?? 0 });

  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return fallback();
      keyNode = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) return fallback();
      keyNode = undefined;
      node = item;
    } else {
      return fallback();
    }
  }
  const value = start(node);
  const key = start(keyNode);
  if (prefer === 'key') return { offset: key ?? value ?? 0 };
  // `replicas:` with nothing after it has no value range worth pointing at; the key is clearer.
  if (value === undefined || (isScalar(node) && node.value === null)) return { offset: key ?? value ?? 0 };
  return { offset: value };
}

/** The deepest field whose key or value spans `offset`, to name the field of a YAML error. */
export function pathAtOffset(doc: Document, offset: number): (string | number)[] {
  const within = (n: unknown): boolean =>
    isNode(n) && !!n.range && offset >= n.range[0] && offset < Math.max(n.range[2], n.range[0] + 1);
  const path: (string | number)[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => within(p.key) || within(p.value));
      if (!pair || !isScalar(pair.key)) return path;
      path.push(String(pair.key.value));
      if (within(pair.key)) return path;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => within(item));
      if (index < 0) return path;
      path.push(index);
      node = node.items[index];
    } else {
      return path;
    }
  }
}

// Unwraps zod wrappers down to the object, list or record at a path, so "did you mean" always
// offers the keys the schema really has (one source of truth, nothing to keep in sync).
interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  innerType?: { _zod: { def: SchemaDef } };
  in?: { _zod: { def: SchemaDef } };
  element?: { _zod: { def: SchemaDef } };
  valueType?: { _zod: { def: SchemaDef } };
}

function unwrap(def: SchemaDef): SchemaDef {
  let current = def;
  for (;;) {
    if (current.innerType) current = current.innerType._zod.def;
    else if (current.type === 'pipe' && current.in) current = current.in._zod.def;
    else return current;
  }
}

function schemaAt(schema: z.ZodType, path: SchemaPath): SchemaDef | undefined {
  let def: SchemaDef | undefined = unwrap((schema as unknown as { _zod: { def: SchemaDef } })._zod.def);
  for (const segment of path) {
    if (!def) return undefined;
    if (def.type === 'object' && typeof segment === 'string') {
      const child: { _zod: { def: SchemaDef } } | undefined = def.shape?.[segment];
      def = child ? unwrap(child._zod.def) : undefined;
    } else if (def.type === 'array' && typeof segment === 'number') {
      def = def.element ? unwrap(def.element._zod.def) : undefined;
    } else if (def.type === 'record') {
      def = def.valueType ? unwrap(def.valueType._zod.def) : undefined;
    } else {
      return undefined;
    }
  }
  return def;
}

/** The keys the schema's object at `path` declares; empty when it is not an object. */
export function knownKeysAt(schema: z.ZodType, path: SchemaPath): string[] {
  const def = schemaAt(schema, path);
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** Every object the schema declares (through lists, item 0 standing for any), with its keys. */
export function schemaObjects(schema: z.ZodType): { path: (string | number)[]; keys: string[] }[] {
  const found: { path: (string | number)[]; keys: string[] }[] = [];
  const visit = (def: SchemaDef, path: (string | number)[]) => {
    if (def.type === 'object' && def.shape) {
      found.push({ path, keys: Object.keys(def.shape) });
      for (const [name, child] of Object.entries(def.shape)) visit(unwrap(child._zod.def), [...path, name]);
    } else if (def.type === 'array' && def.element) {
      visit(unwrap(def.element._zod.def), [...path, 0]);
    }
  };
  visit(unwrap((schema as unknown as { _zod: { def: SchemaDef } })._zod.def), []);
  return found;
}

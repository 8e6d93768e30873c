// Secret parameters (`ui:field: Secret` or `ui:widget: password`): their values are stored
// encrypted with the master key, never shown by the API, and replaced by *** in logs and outputs.
import type { SecretCipher } from '../secrets/crypto.ts';

export const REDACTED = '***';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Top-level parameter names any page (or a dependency/oneOf branch of it) marks as secret. */
export function secretNames(pages: Record<string, unknown>[]): Set<string> {
  const out = new Set<string>();
  const visit = (schema: unknown, depth: number) => {
    if (!isObject(schema) || depth > 8) return;
    const props = schema.properties;
    if (isObject(props)) {
      for (const [name, p] of Object.entries(props)) {
        if (isObject(p) && (p['ui:field'] === 'Secret' || p['ui:widget'] === 'password')) out.add(name);
      }
    }
    for (const key of ['oneOf', 'anyOf', 'allOf']) {
      const list = schema[key];
      if (Array.isArray(list)) for (const s of list) visit(s, depth + 1);
    }
    if (isObject(schema.dependencies)) for (const d of Object.values(schema.dependencies)) visit(d, depth + 1);
    if (isObject(schema.then)) visit(schema.then, depth + 1);
    if (isObject(schema.else)) visit(schema.else, depth + 1);
  };
  for (const p of pages) visit(p, 0);
  return out;
}

/** Splits values into what may be stored and shown, and the secret ones. */
export function splitSecrets(
  values: Record<string, unknown>,
  names: Set<string>,
): { plain: Record<string, unknown>; secret: Record<string, unknown> } {
  const plain: Record<string, unknown> = {};
  const secret: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) (names.has(k) ? secret : plain)[k] = v;
  return { plain, secret };
}

/** The values as the API shows them: secret ones as ***. */
export function shownValues(plain: Record<string, unknown>, secretKeys: string[]): Record<string, unknown> {
  const out = { ...plain };
  for (const k of secretKeys) out[k] = REDACTED;
  return out;
}

export function sealSecrets(cipher: SecretCipher, taskId: string, secret: Record<string, unknown>): string | null {
  if (!Object.keys(secret).length) return null;
  return JSON.stringify(cipher.encrypt(JSON.stringify(secret), `task/${taskId}`, 1));
}

export function openSecrets(cipher: SecretCipher, taskId: string, sealed: string | null): Record<string, unknown> {
  if (!sealed) return {};
  return JSON.parse(cipher.decrypt(JSON.parse(sealed), `task/${taskId}`, 1)) as Record<string, unknown>;
}

/** Replaces every secret value (as text, 4 characters or more) wherever it appears in `value`. */
export class Redactor {
  private readonly needles: string[];

  constructor(secret: Record<string, unknown>) {
    const texts = new Set<string>();
    const add = (v: unknown) => {
      if (typeof v === 'string' && v.length >= 4) texts.add(v);
      else if (typeof v === 'number' && String(v).length >= 4) texts.add(String(v));
      else if (Array.isArray(v)) v.forEach(add);
      else if (isObject(v)) Object.values(v).forEach(add);
    };
    Object.values(secret).forEach(add);
    // Longest first, so a secret containing another is replaced whole.
    this.needles = [...texts].sort((a, b) => b.length - a.length);
  }

  text(s: string): string {
    let out = s;
    for (const n of this.needles) if (out.includes(n)) out = out.split(n).join(REDACTED);
    return out;
  }

  deep<T>(value: T): T {
    if (!this.needles.length) return value;
    const walk = (v: unknown, depth: number): unknown => {
      if (typeof v === 'string') return this.text(v);
      if (depth > 32) return v;
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
      if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, depth + 1)]));
      return v;
    };
    return walk(value, 0) as T;
  }
}

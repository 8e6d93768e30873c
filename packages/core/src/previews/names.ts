import { isDnsLabel } from '../names.ts';

/** The longest preview environment name: environment names are at most 40 characters. */
export const PREVIEW_ENV_MAX = 40;

const REPO = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\/[A-Za-z0-9._-]{1,100}$/;

/** `owner/name` as GitHub spells repositories (letters, digits, `.`, `_`, `-`), else null. */
export function parseRepoFullName(repo: string): { owner: string; name: string } | null {
  if (typeof repo !== 'string' || !REPO.test(repo)) return null;
  const [owner, name] = repo.split('/') as [string, string];
  if (name === '.' || name === '..') return null;
  return { owner, name };
}

/** FNV-1a, 32 bits, as 6 base-36 characters: short, stable, no I/O (core stays pure). */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, '0').slice(-6);
}

/** Lower-case letters, digits and single dashes; anything else becomes a dash. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The preview environment of pull request `number` of `repo` (owner/name): `pr-<number>-<slug>`,
 * a DNS-1123 label of at most 40 characters. The slug is the repository's name; when that name had
 * to be changed (characters outside a-z0-9-, or shortened to fit) a short hash of the full
 * `owner/name` is appended, so two repositories whose names slug alike still get two environments.
 * Nothing from the pull request's branch or title reaches the name.
 */
export function previewEnvName(repo: string, number: number): string {
  if (!Number.isSafeInteger(number) || number < 1) throw new Error(`not a pull request number: ${String(number)}`);
  const parsed = parseRepoFullName(repo);
  if (!parsed) throw new Error(`not a repository owner/name: ${String(repo).slice(0, 80)}`);
  const prefix = `pr-${number}`;
  const base = slug(parsed.name);
  const plain = `${prefix}-${base}`;
  if (base && base === parsed.name && plain.length <= PREVIEW_ENV_MAX) return plain;
  const hash = shortHash(repo.toLowerCase());
  const room = PREVIEW_ENV_MAX - prefix.length - hash.length - 2;
  const cut = base.slice(0, Math.max(0, room)).replace(/-+$/, '');
  const name = cut ? `${prefix}-${cut}-${hash}` : `${prefix}-${hash}`;
  if (!isDnsLabel(name, PREVIEW_ENV_MAX)) throw new Error(`pull request number too large: ${number}`);
  return name;
}

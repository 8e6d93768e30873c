import type { PreviewService, PreviewStatus } from '@idp/contracts';
import type { CommitStatus } from './github-client.ts';

/**
 * What idp tells a pull request about its preview: the commit status (pending → success or
 * failure, its target the preview's URL) and the body of the one comment kept up to date (the
 * URL of each service, the commit deployed, the status, the time taken and the teardown).
 * Branch names, titles and notes come from whoever opened the pull request, so every such text is
 * escaped before it goes into Markdown.
 */

/** A hidden marker: the comment is idp's, whatever its text says. */
export const COMMENT_MARKER = '<!-- idp-preview -->';

export interface CommentInput {
  repo: string;
  number: number;
  env: string;
  status: PreviewStatus;
  headSha: string;
  headRef: string;
  fork: boolean;
  trusted: boolean;
  services: readonly PreviewService[];
  note: string | null;
  /** When the rollout of headSha started (the delivery was received). */
  startedAt: string | null;
  /** When every service answered healthy (or the preview failed). */
  finishedAt: string | null;
  expiresAt: string | null;
  /** When the pull request was closed (teardown started) and when nothing was left. */
  closedAt: string | null;
  deletedAt: string | null;
}

const HEADLINE: Record<PreviewStatus, string> = {
  creating: '⏳ Creating the preview environment',
  deploying: '⏳ Deploying',
  ready: '✅ Ready',
  failed: '❌ Failed',
  deleting: '🧹 Tearing down',
  deleted: '🗑️ Torn down',
  skipped: '⏭️ Skipped',
};

/** The commit status for the preview's state, or null when there is nothing to say on the commit. */
export function commitStatus(p: CommentInput): CommitStatus | null {
  const url = previewUrl(p);
  const short = p.headSha.slice(0, 7);
  switch (p.status) {
    case 'creating':
    case 'deploying':
      return { state: 'pending', targetUrl: url, description: `Deploying ${short} to ${p.env}` };
    case 'ready':
      return { state: 'success', targetUrl: url, description: `Preview ready: ${p.env} serves ${short}` };
    case 'failed':
      return { state: 'failure', targetUrl: url, description: plain(`Preview failed: ${p.note ?? 'see idp'}`) };
    case 'deleting':
    case 'deleted':
    case 'skipped':
      return null;
  }
}

/** The first service's URL: where the commit status links to. */
export function previewUrl(p: Pick<CommentInput, 'services'>): string | null {
  return p.services.find((s) => s.url)?.url ?? null;
}

export function commentBody(p: CommentInput): string {
  const lines = [COMMENT_MARKER, `### idp preview · ${HEADLINE[p.status]}`, ''];
  lines.push(
    `Environment \`${code(p.env)}\` · commit \`${code(p.headSha.slice(0, 12))}\` of \`${code(p.headRef)}\``,
    '',
  );
  if (p.services.length > 0 && p.status !== 'deleted') {
    lines.push('| Service | URL | Status | Version |', '|---|---|---|---|');
    for (const s of p.services) {
      lines.push(
        `| ${cell(s.service)} | ${s.url ? link(s.url) : '—'} | ${cell(s.status)} | ${cell(s.version ?? '—')} |`,
      );
    }
    lines.push('');
  }
  const took = duration(p.startedAt, p.finishedAt);
  if (took && (p.status === 'ready' || p.status === 'failed')) lines.push(`Time taken: ${took}.`);
  if (p.fork && !p.trusted && p.status !== 'deleted') {
    lines.push("From a fork: the preview runs without the base environment's secrets until a team member trusts it.");
  }
  if (p.note) lines.push(`Note: ${plain(p.note)}`);
  if (p.status === 'deleted') {
    const teardown = duration(p.closedAt, p.deletedAt);
    lines.push(`Torn down at ${p.deletedAt ?? p.closedAt ?? 'an unknown time'}${teardown ? ` (in ${teardown})` : ''}.`);
  } else if (p.status === 'deleting') {
    lines.push(`Teardown started at ${p.closedAt ?? 'just now'}.`);
  } else if (p.expiresAt) {
    lines.push(`Torn down when the pull request closes, or at ${p.expiresAt} at the latest.`);
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** "12.3 s" or "2 min 5 s"; null when either end is missing or out of order. */
export function duration(from: string | null, to: string | null): string | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return null;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Text from a pull request inside inline code: no backticks, no line breaks, bounded. */
function code(text: string): string {
  return text.replace(/[`\r\n]/g, ' ').slice(0, 100);
}

/** Text from a pull request as plain Markdown: no HTML, links, emphasis or mentions, one line. */
function plain(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .slice(0, 500)
    .replace(/[\\`*_[\]()<>#|!~&@]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function cell(text: string): string {
  return plain(text);
}

/** Our own URLs only (http/https); anything else is shown as text. */
function link(url: string): string {
  return /^https?:\/\/[^\s<>()[\]|`]+$/.test(url) ? `<${url}>` : plain(url);
}

import type { Preview } from '@idp/contracts';

/** How `idp preview:get` prints a preview: the environment, each service's URL, the commit, the events. */
export function formatPreview(p: Preview): string {
  const lines = [
    `${p.repo}#${p.number}  ${oneLine(p.title)}`,
    `  status       ${p.status}${p.note ? ` (${oneLine(p.note)})` : ''}`,
    `  environment  ${p.env} (team ${p.team || '-'})`,
    `  commit       ${p.headSha.slice(0, 12)} of ${oneLine(p.headRef)}${p.fork ? ` from the fork ${p.headRepo}${p.trusted ? ', trusted' : ', untrusted: no secrets'}` : ''}`,
    `  author       ${oneLine(p.author)}`,
    `  created      ${p.createdAt}${p.expiresAt ? `, expires ${p.expiresAt}` : ''}${p.closedAt ? `, closed ${p.closedAt}` : ''}`,
  ];
  if (p.services.length > 0) {
    lines.push('  services');
    for (const s of p.services) {
      lines.push(
        `    ${s.service.padEnd(24)} ${s.status.padEnd(12)} ${s.url ?? '-'}${s.version ? `  (${s.version})` : ''}`,
      );
    }
  }
  if (p.events.length > 0) {
    lines.push('  events (newest first)');
    for (const e of p.events) {
      const what = `${e.event}${e.action ? `.${e.action}` : ''}`;
      lines.push(
        `    ${e.receivedAt}  ${what.padEnd(28)} ${e.status.padEnd(10)} ${oneLine(e.outcome ?? '')}`.trimEnd(),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Text from a pull request on one line, without control characters (a title may hold anything). */
export function oneLine(text: string): string {
  return text.replace(/\p{Cc}+/gu, ' ').slice(0, 200);
}

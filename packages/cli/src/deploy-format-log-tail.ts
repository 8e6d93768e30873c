import type { Deployment } from '@idp/contracts';

/** The failing replica's last lines after a failed rollout's closing line ('' when there are none). */
export function formatDeployLogTail(deployment: Deployment): string {
  const tail = deployment.logTail;
  if (!tail || tail.lines.length === 0) return '';
  const more = `idp logs ${deployment.service} --env=${deployment.env} --release=${tail.release} --replica=${tail.replica}`;
  return [
    `Last ${tail.lines.length} log lines of replica ${tail.replica} (${tail.release}):`,
    ...tail.lines.map((line) => `  │ ${line}`),
    `More: ${more}`,
  ].join('\n');
}

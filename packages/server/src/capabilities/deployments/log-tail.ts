// The last log lines of the replica that failed a rollout, kept with the deployment so that
// `idp deploy` (and anyone reading the deployment later) sees why without going to the files.
import type { DeploymentLogTail } from '@idp/contracts';
import type { ReleaseProcesses } from '@idp/runtime-local';

export const LOG_TAIL_LINES = 20;
const MAX_LINE_CHARS = 500;

/**
 * The failing replica of a release (crash-looping first, then one that is not ready, the most
 * restarted, else the first) and its last LOG_TAIL_LINES lines; null when it wrote none.
 */
export function failingReplicaTail(procs: ReleaseProcesses, version: string): DeploymentLogTail | null {
  const replicas = procs.replicas();
  if (replicas.length === 0) return null;
  const rank = (status: string) => (status === 'crash-loop' ? 0 : status === 'ready' ? 2 : 1);
  const failing = [...replicas].sort((a, b) => rank(a.status) - rank(b.status) || b.restarts - a.restarts)[0]!;
  let text: string;
  try {
    text = procs.logTail(failing.index, 32 * 1024);
  } catch {
    return null;
  }
  const lines = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-LOG_TAIL_LINES)
    .map((line) => (line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line));
  return lines.length === 0 ? null : { release: version, replica: failing.index + 1, lines };
}

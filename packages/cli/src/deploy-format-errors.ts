// What the server's deploy errors carry, for printing: a spec's problems and a failed build's output.
import type { DeployProblem } from '@idp/core';

/** The problems a server's DEPLOY_SPEC_INVALID error carries, when they have the expected shape. */
export function problemsOf(details: Record<string, unknown>): DeployProblem[] | undefined {
  const problems = details.problems;
  if (!Array.isArray(problems) || problems.length === 0) return undefined;
  const valid = problems.every((p: unknown) => {
    if (typeof p !== 'object' || p === null) return false;
    const r = p as Record<string, unknown>;
    return (
      typeof r.file === 'string' &&
      typeof r.line === 'number' &&
      typeof r.column === 'number' &&
      typeof r.field === 'string' &&
      typeof r.message === 'string' &&
      typeof r.expected === 'string'
    );
  });
  return valid ? (problems as DeployProblem[]) : undefined;
}

/** The tail of a failed build's output (DEPLOY_BUILD_FAILED), indented under a heading. */
export function buildOutputOf(details: Record<string, unknown>): string | undefined {
  const output = details.output;
  if (typeof output !== 'string' || output.trim() === '') return undefined;
  return `Build output (tail):\n${output
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n')}`;
}

// Problems found while loading policies: locating Cedar's errors in a file, rendering them, the POLICY_INVALID error.
import type * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { IdpError } from '@idp/contracts';
import type { PolicySource } from './policy-types.ts';

export interface Problem {
  file: string;
  line?: number;
  column?: number;
  policyId?: string;
  message: string;
}

const MAX_PROBLEMS_IN_MESSAGE = 5;

export function problemAt(source: PolicySource, error: cedar.DetailedError, policyId?: string): Problem {
  const location = error.sourceLocations?.[0];
  const position = location ? lineAndColumn(source.text, location.start) : undefined;
  // Cedar's validator names the policy by its internal id ("for policy `policy1`, …"); the
  // caller puts our id in front instead.
  const message = error.message.replace(/^for policy `[^`]*`, /, '');
  return {
    file: source.path,
    ...position,
    ...(policyId !== undefined ? { policyId } : {}),
    message: describeError({ ...error, message, sourceLocations: location ? [location] : [] }),
  };
}

export function describeError(error: cedar.DetailedError): string {
  const label = error.sourceLocations?.[0]?.label;
  return [error.message, label, error.help].filter((part): part is string => Boolean(part)).join('; ');
}

/** Cedar reports UTF-8 byte offsets. */
function lineAndColumn(text: string, byteOffset: number): { line: number; column: number } {
  const before = Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8');
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

export function renderProblem(problem: Problem): string {
  const where = problem.line !== undefined ? `${problem.file}:${problem.line}:${problem.column}` : problem.file;
  const which = problem.policyId !== undefined ? ` [${problem.policyId}]` : '';
  return `${where}:${which} ${problem.message}`;
}

export function invalidPolicies(problems: Problem[]): IdpError {
  const shown = problems.slice(0, MAX_PROBLEMS_IN_MESSAGE).map(renderProblem);
  const more = problems.length - shown.length;
  const first = problems[0]!;
  return new IdpError(
    'POLICY_INVALID',
    `Invalid Cedar policy: ${shown.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`,
    {
      file: first.file,
      ...(first.line !== undefined ? { line: first.line, column: first.column } : {}),
      ...(first.policyId !== undefined ? { policyId: first.policyId } : {}),
      problems,
    },
  );
}

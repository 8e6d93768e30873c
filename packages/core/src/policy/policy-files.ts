// Reading policy files: splitting a file into its policies with our ids, and validating them all against the schema.
import { basename } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicySource } from './policy-types.ts';
import { describeError, problemAt, renderProblem, type Problem } from './problems.ts';

export interface LoadedPolicy {
  id: string;
  /** The name Cedar gives the policy when it parses the file alone. */
  idInFile: string;
  effect: cedar.Effect;
  text: string;
  json: cedar.PolicyJson;
}

export function parseFile(source: PolicySource, problems: Problem[]): LoadedPolicy[] {
  const parts = cedar.policySetTextToParts(source.text);
  if (parts.type === 'failure') {
    problems.push(...parts.errors.map((error) => problemAt(source, error)));
    return [];
  }
  if (parts.policy_templates.length > 0) {
    problems.push({
      file: source.path,
      message:
        'policy templates (policies with ?principal or ?resource slots) are not supported; write a static policy',
    });
    return [];
  }

  const fileId = basename(source.path).replace(/\.cedar$/, '');
  const policies: LoadedPolicy[] = [];
  cedarSourceOrder(parts.policies).forEach((text, n) => {
    const json = cedar.policyToJson(text);
    if (json.type === 'failure') {
      problems.push(...json.errors.map((error) => problemAt(source, error)));
      return;
    }
    const annotated = json.json.annotations?.['id'];
    if (annotated !== undefined && annotated.trim() === '') {
      problems.push({ file: source.path, message: `policy${n} has an empty @id annotation` });
      return;
    }
    const id = `${fileId}/${annotated ?? `policy${n}`}`;
    if (policies.some((p) => p.id === id)) {
      problems.push({ file: source.path, policyId: id, message: `policy id "${id}" is used twice in this file` });
      return;
    }
    policies.push({ id, idInFile: `policy${n}`, effect: json.json.effect, text, json: json.json });
  });
  return policies;
}

/**
 * Cedar names a file's policies policy0, policy1, … in source order, and policySetTextToParts
 * returns them sorted by that name as a string (policy0, policy1, policy10, policy2, …).
 */
function cedarSourceOrder(sortedByCedarId: string[]): string[] {
  const cedarIds = sortedByCedarId.map((_, n) => `policy${n}`).sort();
  const inSourceOrder: string[] = [];
  sortedByCedarId.forEach((text, k) => {
    inSourceOrder[Number(cedarIds[k]!.slice('policy'.length))] = text;
  });
  return inSourceOrder;
}

/**
 * Validates all policies in one call (building Cedar's validator is the slow part of loading);
 * a file with findings is validated again on its own, because only then are Cedar's source
 * offsets relative to the file, which gives the lines people need. Returns the warnings.
 */
export function validate(
  schema: cedar.SchemaJson<string>,
  policies: LoadedPolicy[],
  sourceOfId: ReadonlyMap<string, PolicySource>,
  problems: Problem[],
): string[] {
  if (policies.length === 0) return [];
  const staticPolicies: Record<string, string> = {};
  for (const policy of policies) staticPolicies[policy.id] = policy.text;
  const combined = cedar.validate({ schema, policies: { staticPolicies } });
  if (combined.type === 'failure') {
    problems.push(
      ...combined.errors.map((error) => ({
        file: sourceOfId.get(policies[0]!.id)!.path,
        message: describeError(error),
      })),
    );
    return [];
  }
  const filesWithFindings = new Set<PolicySource>();
  for (const finding of [...combined.validationErrors, ...combined.validationWarnings]) {
    const source = sourceOfId.get(finding.policyId);
    if (source !== undefined) filesWithFindings.add(source);
  }

  const warnings: string[] = [];
  for (const source of filesWithFindings) {
    const ourIdOf = new Map<string, string>();
    for (const policy of policies) {
      if (sourceOfId.get(policy.id) === source) ourIdOf.set(policy.idInFile, policy.id);
    }
    const alone = cedar.validate({ schema, policies: { staticPolicies: source.text } });
    if (alone.type === 'failure') {
      problems.push(...alone.errors.map((error) => problemAt(source, error)));
      continue;
    }
    for (const { policyId, error } of alone.validationErrors) {
      problems.push(problemAt(source, error, ourIdOf.get(policyId) ?? policyId));
    }
    for (const { policyId, error } of alone.validationWarnings) {
      warnings.push(renderProblem(problemAt(source, error, ourIdOf.get(policyId) ?? policyId)));
    }
  }
  return warnings;
}

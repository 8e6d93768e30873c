// cedar-wasm's pre-parsed policy sets and schemas, keyed by content hash so identical reloads reuse an entry.
import { createHash } from 'node:crypto';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { IdpError } from '@idp/contracts';
import type { LoadedPolicy } from './policy-files.ts';
import { describeError } from './problems.ts';

/** Names already pre-parsed into cedar-wasm's module-global cache, which lives as long as this module. */
const preparsed = new Set<string>();

export function preparse(prefix: string, policies: LoadedPolicy[]): string {
  const staticPolicies: Record<string, string> = {};
  for (const policy of policies) staticPolicies[policy.id] = policy.text;
  const id = `${prefix}-${digest(policies.flatMap((p) => [p.id, p.text]))}`;
  if (preparsed.has(id)) return id;
  const answer = cedar.preparsePolicySet(id, { staticPolicies });
  if (answer.type === 'failure') {
    throw new IdpError(
      'POLICY_INVALID',
      `Cedar could not load the policy set: ${answer.errors.map(describeError).join('; ')}`,
    );
  }
  preparsed.add(id);
  return id;
}

export function preparseSchemaOnce(name: string, schema: cedar.Schema): cedar.CheckParseAnswer {
  if (preparsed.has(name)) return { type: 'success' };
  const answer = cedar.preparseSchema(name, schema);
  if (answer.type === 'success') preparsed.add(name);
  return answer;
}

export function digest(parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:${part}`);
  return hash.digest('hex').slice(0, 24);
}

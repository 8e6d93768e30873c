import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { IdpError } from '@idp/contracts';
import { parseFile, validate, type LoadedPolicy } from './policy-files.ts';
import type { AuthorizeRequest, Decision, PolicySource } from './policy-types.ts';
import { digest, preparse, preparseSchemaOnce } from './preparse.ts';
import { describeError, invalidPolicies, problemAt, type Problem } from './problems.ts';
import { formatUid, type CedarUid } from './refs.ts';
import { collectEntityRefs, relevantEntities } from './relevance.ts';
import { actionSchemas, attributelessTypes } from './schema-facts.ts';

export type { AuthorizeRequest, CedarEntity, Decision, PolicySource } from './policy-types.ts';

export class PolicyEngine {
  readonly policyIds: string[];
  /** Validator warnings (e.g. a policy that can never apply); worth logging, not fatal. */
  readonly warnings: string[];

  readonly #policySetId: string;
  readonly #schemaNameFor: (action: string) => string;
  /** Set only when some policy forbids: re-evaluated to tell which permits a forbid overrode. */
  readonly #permitsOnlySetId: string | undefined;
  readonly #attributelessTypes: ReadonlySet<string>;
  readonly #policyLiterals: readonly CedarUid[];

  private constructor(init: {
    policyIds: string[];
    warnings: string[];
    policySetId: string;
    schemaNameFor: (action: string) => string;
    permitsOnlySetId: string | undefined;
    attributelessTypes: ReadonlySet<string>;
    policyLiterals: readonly CedarUid[];
  }) {
    this.policyIds = init.policyIds;
    this.warnings = init.warnings;
    this.#policySetId = init.policySetId;
    this.#schemaNameFor = init.schemaNameFor;
    this.#permitsOnlySetId = init.permitsOnlySetId;
    this.#attributelessTypes = init.attributelessTypes;
    this.#policyLiterals = init.policyLiterals;
  }

  /** Parses and validates every policy against the schema, then pre-parses the set once. */
  static load(opts: { schema: PolicySource; policies: PolicySource[] }): PolicyEngine {
    const { schema } = opts;
    // cedar-wasm keeps pre-parsed sets in a module-global map with no way to drop one, so the
    // keys are content hashes: reloading identical policies reuses the entry instead of leaking.
    const schemaName = `idp-schema-${digest([schema.text])}`;
    const schemaAnswer = preparseSchemaOnce(schemaName, schema.text);
    if (schemaAnswer.type === 'failure') {
      throw invalidPolicies(schemaAnswer.errors.map((error) => problemAt(schema, error)));
    }
    const schemaJson = cedar.schemaToJson(schema.text);
    if (schemaJson.type === 'failure') {
      throw invalidPolicies(schemaJson.errors.map((error) => problemAt(schema, error)));
    }
    if (opts.policies.length === 0) {
      throw new IdpError('POLICY_INVALID', 'No Cedar policy files were given, so every request would be denied.', {
        file: schema.path,
      });
    }

    const problems: Problem[] = [];
    const policies: LoadedPolicy[] = [];
    const sourceOfId = new Map<string, PolicySource>();
    for (const source of opts.policies) {
      for (const policy of parseFile(source, problems)) {
        const clash = sourceOfId.get(policy.id);
        if (clash !== undefined) {
          problems.push({
            file: source.path,
            policyId: policy.id,
            message: `policy id "${policy.id}" is already used in ${clash.path}; give one of them another @id`,
          });
          continue;
        }
        sourceOfId.set(policy.id, source);
        policies.push(policy);
      }
    }
    const warnings = validate(schemaJson.json, policies, sourceOfId, problems);
    if (problems.length > 0) throw invalidPolicies(problems);
    if (policies.length === 0) {
      throw new IdpError(
        'POLICY_INVALID',
        `The Cedar policy files ${opts.policies.map((p) => p.path).join(', ')} hold no policies, so every request would be denied.`,
        { file: opts.policies[0]!.path },
      );
    }

    const policySetId = preparse(`idp-policies-${schemaName}`, policies);
    const permits = policies.filter((p) => p.effect === 'permit');
    const permitsOnlySetId =
      permits.length < policies.length ? preparse(`idp-permits-${schemaName}`, permits) : undefined;

    const policyLiterals: CedarUid[] = [];
    for (const policy of policies) collectEntityRefs(policy.json, policyLiterals);
    // Actions are never among the caller's entities, so naming them only slows the walk.
    const entityLiterals = policyLiterals.filter((uid) => uid.type !== 'Action');

    return new PolicyEngine({
      policyIds: policies.map((p) => p.id),
      warnings,
      policySetId,
      schemaNameFor: actionSchemas(schemaName, schemaJson.json),
      permitsOnlySetId,
      attributelessTypes: attributelessTypes(schemaJson.json),
      policyLiterals: dedupe(entityLiterals),
    });
  }

  authorize(req: AuthorizeRequest): Decision {
    const context = req.context ?? {};
    const entities = relevantEntities(
      req.entities,
      { principal: req.principal, resource: req.resource, context, policyLiterals: this.#policyLiterals },
      this.#attributelessTypes,
    );
    const call: cedar.StatefulAuthorizationCall = {
      principal: req.principal,
      action: { type: 'Action', id: req.action },
      resource: req.resource,
      context: context as cedar.Context,
      entities: entities as cedar.EntityJson[],
      preparsedPolicySetId: this.#policySetId,
      // Evaluating against the schema makes Cedar read `{type, id}` attributes as entity
      // references, and it rejects entities missing a required attribute; without that, a
      // forbid reading the missing attribute would error, be skipped, and let a permit through.
      preparsedSchemaName: this.#schemaNameFor(req.action),
      validateRequest: true,
    };
    const answer = evaluate(call);

    if (answer.type === 'failure') {
      const errors = answer.errors.map((error) => explainRequestError(describeError(error)));
      return {
        decision: 'deny',
        permittedBy: [],
        forbiddenBy: [],
        reason: `the request ${describeRequest(req)} could not be evaluated: ${errors.join('; ')}`,
        errors,
      };
    }

    const { decision, diagnostics } = answer.response;
    const errors = diagnostics.errors.map((e) => `${e.policyId}: ${describeError(e.error)}`);
    const erroredNote =
      errors.length > 0
        ? `; ${errors.length} ${errors.length === 1 ? 'policy' : 'policies'} could not be evaluated and ${errors.length === 1 ? 'was' : 'were'} ignored`
        : '';

    if (decision === 'allow') {
      return {
        decision,
        permittedBy: diagnostics.reason,
        forbiddenBy: [],
        reason: `permitted by ${diagnostics.reason.join(', ')}${erroredNote}`,
        errors,
      };
    }
    if (diagnostics.reason.length > 0) {
      return {
        decision,
        permittedBy: this.#overriddenPermits(call),
        forbiddenBy: diagnostics.reason,
        reason: `forbidden by ${diagnostics.reason.join(', ')}${erroredNote}`,
        errors,
      };
    }
    return {
      decision,
      permittedBy: [],
      forbiddenBy: [],
      reason: `no policy permits ${describeRequest(req)}${erroredNote}`,
      errors,
    };
  }

  /**
   * Cedar only reports the forbids when a forbid wins; asking the permits alone tells the
   * reader which grants the forbid overrode. This runs only on that rare path.
   */
  #overriddenPermits(call: cedar.StatefulAuthorizationCall): string[] {
    if (this.#permitsOnlySetId === undefined) return [];
    const answer = evaluate({ ...call, preparsedPolicySetId: this.#permitsOnlySetId });
    return answer.type === 'success' && answer.response.decision === 'allow' ? answer.response.diagnostics.reason : [];
  }
}

function describeRequest(req: AuthorizeRequest): string {
  return `${req.action} for ${formatUid(req.principal)} on ${formatUid(req.resource)}`;
}

function evaluate(call: cedar.StatefulAuthorizationCall): cedar.AuthorizationAnswer {
  try {
    return cedar.statefulIsAuthorized(call);
  } catch (err) {
    // The binding throws (rather than answering "failure") when the call cannot be
    // serialised or has the wrong shape; a gate must still answer, and answer deny.
    const message = err instanceof Error ? err.message : String(err);
    return { type: 'failure', errors: [{ message, help: null, code: null, url: null, severity: null }], warnings: [] };
  }
}

/** Two of Cedar's request errors name Rust internals; say what the caller got wrong instead. */
function explainRequestError(message: string): string {
  if (message.includes('RawCedarValueJson')) {
    return `${message}: a context or attribute value is not Cedar JSON (numbers must be integers, as Cedar has only Long)`;
  }
  if (message.includes('unwrap_throw')) {
    return `${message}: the request could not be serialised to JSON (e.g. a BigInt or a cyclic value in context or attributes)`;
  }
  return message;
}

function dedupe(uids: CedarUid[]): CedarUid[] {
  const seen = new Map<string, CedarUid>();
  for (const uid of uids) seen.set(`${uid.type}\u0000${uid.id}`, uid);
  return [...seen.values()];
}

import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { IdpError } from '@idp/contracts';
import { formatUid, type CedarUid } from './refs.ts';
import { collectEntityRefs, relevantEntities } from './relevance.ts';

export interface PolicySource {
  /** Where the text came from; used only in ids and messages. */
  path: string;
  text: string;
}

export interface CedarEntity {
  uid: CedarUid;
  /** Attribute values in Cedar JSON; an entity reference is written `{ type, id }`. */
  attrs: Record<string, unknown>;
  parents: CedarUid[];
}

export interface AuthorizeRequest {
  principal: CedarUid;
  /** The action id without the `Action::` prefix, e.g. `env:create`. */
  action: string;
  resource: CedarUid;
  context?: Record<string, unknown>;
  entities: CedarEntity[];
}

export interface Decision {
  decision: 'allow' | 'deny';
  permittedBy: string[];
  forbiddenBy: string[];
  reason: string;
  errors: string[];
}

interface LoadedPolicy {
  id: string;
  /** The name Cedar gives the policy when it parses the file alone. */
  idInFile: string;
  effect: cedar.Effect;
  text: string;
  json: cedar.PolicyJson;
}

interface Problem {
  file: string;
  line?: number;
  column?: number;
  policyId?: string;
  message: string;
}

const MAX_PROBLEMS_IN_MESSAGE = 5;

/** Names already pre-parsed into cedar-wasm's module-global cache, which lives as long as this module. */
const preparsed = new Set<string>();

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

function parseFile(source: PolicySource, problems: Problem[]): LoadedPolicy[] {
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
function validate(
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

function preparse(prefix: string, policies: LoadedPolicy[]): string {
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

function preparseSchemaOnce(name: string, schema: cedar.Schema): cedar.CheckParseAnswer {
  if (preparsed.has(name)) return { type: 'success' };
  const answer = cedar.preparseSchema(name, schema);
  if (answer.type === 'success') preparsed.add(name);
  return answer;
}

/**
 * With a schema, Cedar materialises an entity for every declared action on every call (~12 µs
 * for our ~30 actions), so each action gets a schema declaring only itself. That is exact as
 * long as no action is a member of another: then no policy can reach a second action entity.
 * Each is pre-parsed on first use, since doing all of them costs ~200 ms at start-up.
 */
function actionSchemas(fullSchemaName: string, schema: cedar.SchemaJson<string>): (action: string) => string {
  const root = schema[''];
  const actionGroups = Object.values(schema).some((ns) =>
    Object.values(ns.actions).some((action) => (action.memberOf?.length ?? 0) > 0),
  );
  if (root === undefined || actionGroups) return () => fullSchemaName;
  const nameByAction = new Map<string, string>();
  return (action) => {
    const known = nameByAction.get(action);
    if (known !== undefined) return known;
    // Unknown actions get the full schema, whose validator rejects them by name.
    if (!Object.hasOwn(root.actions, action)) return fullSchemaName;
    const name = `${fullSchemaName}-action-${action}`;
    const answer = preparseSchemaOnce(name, {
      ...schema,
      '': { ...root, actions: { [action]: root.actions[action]! } },
    });
    const chosen = answer.type === 'success' ? name : fullSchemaName;
    nameByAction.set(action, chosen);
    return chosen;
  };
}

function attributelessTypes(schema: cedar.SchemaJson<string>): Set<string> {
  const types = new Set<string>();
  for (const [namespace, definition] of Object.entries(schema)) {
    for (const [name, entityType] of Object.entries(definition.entityTypes)) {
      const shape = 'shape' in entityType ? entityType.shape : undefined;
      const attributes = shape && 'attributes' in shape ? shape.attributes : undefined;
      const hasTags = 'tags' in entityType && entityType.tags !== undefined;
      if ('enum' in entityType || hasTags || (attributes && Object.keys(attributes).length > 0)) continue;
      types.add(namespace === '' ? name : `${namespace}::${name}`);
    }
  }
  return types;
}

function problemAt(source: PolicySource, error: cedar.DetailedError, policyId?: string): Problem {
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

function describeError(error: cedar.DetailedError): string {
  const label = error.sourceLocations?.[0]?.label;
  return [error.message, label, error.help].filter((part): part is string => Boolean(part)).join('; ');
}

/** Cedar reports UTF-8 byte offsets. */
function lineAndColumn(text: string, byteOffset: number): { line: number; column: number } {
  const before = Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8');
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

function renderProblem(problem: Problem): string {
  const where = problem.line !== undefined ? `${problem.file}:${problem.line}:${problem.column}` : problem.file;
  const which = problem.policyId !== undefined ? ` [${problem.policyId}]` : '';
  return `${where}:${which} ${problem.message}`;
}

function invalidPolicies(problems: Problem[]): IdpError {
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

function digest(parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:${part}`);
  return hash.digest('hex').slice(0, 24);
}

function dedupe(uids: CedarUid[]): CedarUid[] {
  const seen = new Map<string, CedarUid>();
  for (const uid of uids) seen.set(`${uid.type}\u0000${uid.id}`, uid);
  return [...seen.values()];
}

// The actions a template's steps may name: registered once, looked up by id, each input checked
// against the action's JSON Schema before its handler runs (every problem, with its JSON path).
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { IdpError } from '@idp/contracts';
import type { ActionContext, TemplateAction } from '../types.ts';

/** Action ids of SaaS publishers and integrations idp does not carry: they answer "not configured". */
const NOT_CONFIGURED_PREFIXES = ['publish:', 'github:', 'gitlab:', 'bitbucket:', 'azure:', 'gerrit:', 'gitea:'];

export class ActionRegistry {
  private readonly actions = new Map<string, { action: TemplateAction; validate?: ValidateFunction }>();
  private readonly ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: true });

  register(action: TemplateAction): this {
    if (this.actions.has(action.id)) throw new Error(`action ${action.id} is registered twice`);
    const validate = action.inputSchema ? this.ajv.compile(action.inputSchema) : undefined;
    const wrapped: TemplateAction = {
      ...action,
      handler: async (ctx: ActionContext) => {
        if (validate && !validate(ctx.input)) throw inputInvalid(action.id, ctx.stepId, validate.errors ?? []);
        await action.handler(ctx);
      },
    };
    this.actions.set(action.id, { action: wrapped, validate });
    return this;
  }

  has(id: string): boolean {
    return this.actions.has(id);
  }

  /**
   * The action of this id; `stepId` names the step in the error. An id of a SaaS publisher idp
   * does not carry (publish:gitlab, github:repo:create, …) answers TEMPLATE_ACTION_NOT_CONFIGURED,
   * any other unknown id TEMPLATE_ACTION_UNKNOWN.
   */
  get(id: string, stepId?: string): TemplateAction {
    const found = this.actions.get(id);
    if (found) return found.action;
    const step = stepId ? ` (step ${stepId})` : '';
    if (NOT_CONFIGURED_PREFIXES.some((p) => id.startsWith(p)))
      throw new IdpError(
        'TEMPLATE_ACTION_NOT_CONFIGURED',
        `${id}${step}: idp has no integration for it; publish with publish:git to a remote in templates.publish.git.allowedRemotes`,
        { action: id, step: stepId ?? null, needs: 'templates.publish.git.allowedRemotes' },
      );
    throw new IdpError(
      'TEMPLATE_ACTION_UNKNOWN',
      `step ${stepId ?? '?'} uses the action "${id}", which idp does not have; known: ${this.ids().join(', ')}`,
      { action: id, step: stepId ?? null },
    );
  }

  list(): TemplateAction[] {
    return [...this.actions.values()].map((a) => a.action).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  ids(): string[] {
    return this.list().map((a) => a.id);
  }
}

function inputInvalid(id: string, stepId: string, errors: ErrorObject[]): IdpError {
  const problems = errors.map((e) => ({
    path: `input${e.instancePath.replace(/\//g, '.')}`,
    message:
      e.keyword === 'additionalProperties'
        ? `unknown property ${String((e.params as { additionalProperty?: string }).additionalProperty)}`
        : (e.message ?? 'invalid'),
  }));
  return new IdpError(
    'TEMPLATE_INVALID',
    `step ${stepId} (${id}): ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    { step: stepId, action: id, problems },
  );
}

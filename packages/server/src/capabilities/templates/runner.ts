// The step runner: a template's steps in order, each recorded through a sink (the tables for a
// task, memory for a dry run), so the same code runs a task, resumes it and dry-runs it.
import { IdpError, type TaskOutput, type TaskStepStatus } from '@idp/contracts';
import type { ActionLookup } from './task-deps.ts';
import type { RunnableTemplate, TemplateStep } from './templates-catalog.ts';
import type { ActionContext, Renderer, TemplateContext } from './types.ts';

/**
 * A step's durable memory. Without `each` there is one item ("0"). `done` holds the outputs of
 * the items that finished, so a step that was interrupted after some items goes on from the next;
 * `data` is what each item's action recorded with ctx.checkpoint.
 */
export interface CheckpointData {
  done: Record<string, Record<string, unknown>>;
  data: Record<string, Record<string, unknown>>;
}

export interface StepState {
  status: TaskStepStatus;
  output: Record<string, unknown>;
  checkpoint: CheckpointData;
}

export interface StepError {
  code: string;
  message: string;
}

export interface RunSink {
  /** The steps' states, in spec.steps order (read once when the run starts). */
  readonly steps: StepState[];
  startStep(idx: number): Promise<void>;
  saveCheckpoint(idx: number, checkpoint: CheckpointData): Promise<void>;
  finishStep(
    idx: number,
    status: 'completed' | 'failed' | 'skipped' | 'cancelled',
    output: Record<string, unknown>,
    error: StepError | null,
  ): Promise<void>;
  log(step: string | null, level: 'info' | 'warn' | 'error', message: string): Promise<void>;
  cancelRequested(): boolean;
}

export interface RunInput {
  taskId: string;
  template: RunnableTemplate;
  /** The values, secret ones included. */
  values: Record<string, unknown>;
  user: ActionContext['user'] & { entity?: unknown };
  workspace: string;
  dryRun: boolean;
  /** Aborted on cancel (sink.cancelRequested() is then true) or when the control plane stops. */
  signal: AbortSignal;
}

export type RunOutcome =
  | { status: 'completed'; output: TaskOutput }
  | { status: 'failed'; error: StepError & { step: string | null } }
  | { status: 'cancelled' }
  /** The control plane is stopping: nothing is marked, the next start resumes the task. */
  | { status: 'interrupted' };

export interface RunnerDeps {
  renderer: Renderer;
  actions: ActionLookup;
}

export const emptyCheckpoint = (): CheckpointData => ({ done: {}, data: {} });

export async function runSteps(deps: RunnerDeps, input: RunInput, sink: RunSink): Promise<RunOutcome> {
  const { template } = input;
  const context: TemplateContext = {
    parameters: input.values,
    steps: {},
    user: { ref: input.user.ref, ...(input.user.entity !== undefined ? { entity: input.user.entity } : {}) },
  };
  for (const [idx, step] of template.steps.entries()) {
    const state = sink.steps[idx]!;
    if (state.status === 'completed' || state.status === 'skipped') {
      context.steps[step.id] = { output: state.output };
      continue;
    }
    if (input.signal.aborted) return stopped(sink);
    try {
      if (step.if !== undefined && !(await deps.renderer.condition(step.if, context))) {
        await sink.finishStep(idx, 'skipped', {}, null);
        await sink.log(step.id, 'info', `skipped: its if is false`);
        context.steps[step.id] = { output: {} };
        continue;
      }
      const action = deps.actions.get(step.action, step.id);
      await sink.startStep(idx);
      await sink.log(step.id, 'info', `${step.name ?? step.id}: ${step.action} started`);
      const output = await runStep(deps, input, sink, idx, step, action, context);
      // Cancelled while an action that does not watch its signal ran: the step is not counted done.
      if (input.signal.aborted) return stopped(sink);
      await sink.finishStep(idx, 'completed', output, null);
      await sink.log(step.id, 'info', `${step.name ?? step.id}: completed`);
      context.steps[step.id] = { output };
    } catch (err) {
      if (input.signal.aborted) return stopped(sink);
      const error = stepError(err);
      await sink.finishStep(idx, 'failed', {}, error);
      await sink.log(step.id, 'error', `${step.name ?? step.id}: failed: ${error.code}: ${error.message}`);
      // Later steps stay pending: a retry runs them.
      return { status: 'failed', error: { ...error, step: step.id } };
    }
  }
  try {
    return { status: 'completed', output: await renderOutput(deps.renderer, template, context) };
  } catch (err) {
    const error = stepError(err);
    await sink.log(null, 'error', `spec.output: ${error.code}: ${error.message}`);
    return { status: 'failed', error: { ...error, step: null } };
  }
}

/** Runs one step: once, or once per item of `each` (Backstage's shape: each output becomes a list, one value per item). */
async function runStep(
  deps: RunnerDeps,
  input: RunInput,
  sink: RunSink,
  idx: number,
  step: TemplateStep,
  action: ReturnType<ActionLookup['get']>,
  context: TemplateContext,
): Promise<Record<string, unknown>> {
  const state = sink.steps[idx]!;
  const checkpoint = state.checkpoint;
  let items: { key: string | number; value: unknown }[] | null = null;
  if (step.each !== undefined) {
    const each = await deps.renderer.renderValue(step.each, context);
    if (Array.isArray(each)) items = each.map((value, key) => ({ key, value }));
    else if (each && typeof each === 'object') items = Object.entries(each).map(([key, value]) => ({ key, value }));
    else
      throw new IdpError('TEMPLATE_INVALID', `step ${step.id}: each must render to a list or an object`, {
        step: step.id,
        field: 'each',
      });
  }
  const runs = items ?? [null];
  const outputs: Record<string, unknown> = {};
  for (const [i, item] of runs.entries()) {
    const key = String(i);
    let itemOutput = checkpoint.done[key];
    if (!itemOutput) {
      const ctx: TemplateContext = item ? { ...context, each: item } : context;
      const rendered = (await deps.renderer.renderValue(step.input, ctx)) as Record<string, unknown>;
      const produced: Record<string, unknown> = {};
      const data = (checkpoint.data[key] ??= {});
      await action.handler({
        input: rendered ?? {},
        workspace: input.workspace,
        template: { ref: input.template.ref, location: input.template.location },
        user: { ref: input.user.ref, principal: input.user.principal, ctx: input.user.ctx },
        taskId: input.taskId,
        stepId: step.id,
        log: (message, level = 'info') => void sink.log(step.id, level, String(message)).catch(() => {}),
        output: (name, value) => {
          produced[name] = value;
        },
        signal: input.signal,
        dryRun: input.dryRun,
        renderer: deps.renderer,
        checkpoint: {
          get: <T>(k: string) => data[k] as T | undefined,
          set: async (k, v) => {
            data[k] = v;
            await sink.saveCheckpoint(idx, checkpoint);
          },
        },
      });
      itemOutput = produced;
      checkpoint.done[key] = itemOutput;
      await sink.saveCheckpoint(idx, checkpoint);
    }
    if (!items) return itemOutput;
    for (const [name, value] of Object.entries(itemOutput)) ((outputs[name] ??= []) as unknown[])[i] = value;
  }
  return outputs;
}

/** Stopped by its signal: cancelled (the caller marks the steps left) or interrupted by a shutdown. */
function stopped(sink: RunSink): RunOutcome {
  return sink.cancelRequested() ? { status: 'cancelled' } : { status: 'interrupted' };
}

export function stepError(err: unknown): StepError {
  if (err instanceof IdpError) return { code: err.code, message: err.message };
  return { code: 'TEMPLATE_ACTION_FAILED', message: err instanceof Error ? err.message : String(err) };
}

const str = (v: unknown): string | null =>
  typeof v === 'string' ? v : v === undefined || v === null ? null : String(v);

/** spec.output rendered: Backstage's `links` (title, url, entityRef, icon) and `text` (title, content). */
export async function renderOutput(
  renderer: Renderer,
  template: RunnableTemplate,
  context: TemplateContext,
): Promise<TaskOutput> {
  if (!template.output) return { links: [], text: [] };
  const out = (await renderer.renderValue(template.output, context)) as Record<string, unknown>;
  const links = Array.isArray(out?.links) ? out.links : [];
  const text = Array.isArray(out?.text) ? out.text : [];
  return {
    links: links
      .filter((l): l is Record<string, unknown> => !!l && typeof l === 'object')
      .map((l) => ({ title: str(l.title), url: str(l.url), entityRef: str(l.entityRef), icon: str(l.icon) })),
    text: text
      .filter((t): t is Record<string, unknown> => !!t && typeof t === 'object')
      .map((t) => ({ title: str(t.title), content: str(t.content) ?? '' })),
  };
}

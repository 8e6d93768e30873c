// A dry run: the steps run with dryRun=true in a scratch workspace under the tasks' folder, the
// files it holds are answered (Backstage's dry-run shape), then the scratch workspace is removed.
// Nothing is stored but the audit entry the service writes.
import type { DryRunResult, Principal, TaskLogEntry, TaskStep } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock } from '../../clock.ts';
import { emptyCheckpoint, runSteps, type RunSink, type RunnerDeps, type StepState } from './runner.ts';
import { MAX_LOG_LINES, MAX_LOG_MESSAGE } from './store.ts';
import { Redactor } from './task-secrets.ts';
import { collectFiles, makeWorkspace, removeWorkspace, workspaceOf } from './task-workspace.ts';
import type { RunnableTemplate } from './templates-catalog.ts';

export interface DryRunDeps extends RunnerDeps {
  clock: Clock;
  workspaces: string;
  limits: { maxFiles: number; maxBytes: number };
}

export async function dryRun(
  deps: DryRunDeps,
  args: {
    id: string;
    template: RunnableTemplate;
    values: Record<string, unknown>;
    secret: Record<string, unknown>;
    ctx: RequestContext;
    principal: Principal;
    userEntity: unknown;
  },
): Promise<DryRunResult> {
  const now = () => deps.clock.now().toISOString();
  const redactor = new Redactor(args.secret);
  const log: TaskLogEntry[] = [];
  const views: TaskStep[] = args.template.steps.map((s) => ({
    id: s.id,
    name: s.name,
    action: s.action,
    status: 'pending',
    attempts: 0,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    output: {},
    error: null,
  }));
  const steps: StepState[] = views.map(() => ({ status: 'pending', output: {}, checkpoint: emptyCheckpoint() }));
  const sink: RunSink = {
    steps,
    startStep: async (idx) => {
      steps[idx]!.status = 'running';
      Object.assign(views[idx]!, { status: 'running', attempts: views[idx]!.attempts + 1, startedAt: now() });
    },
    saveCheckpoint: async () => {},
    finishStep: async (idx, status, output, error) => {
      steps[idx]!.status = status;
      const v = views[idx]!;
      const finishedAt = now();
      Object.assign(v, {
        status,
        finishedAt,
        durationMs: v.startedAt ? Date.parse(finishedAt) - Date.parse(v.startedAt) : null,
        output: redactor.deep(output),
        error: error ? redactor.deep(error) : null,
      });
    },
    log: async (step, level, message) => {
      if (log.length >= MAX_LOG_LINES) return;
      log.push({
        seq: log.length + 1,
        at: now(),
        step,
        level,
        message: redactor.text(message).slice(0, MAX_LOG_MESSAGE),
      });
    },
    cancelRequested: () => false,
  };
  const workspace = workspaceOf(deps.workspaces, args.id);
  await makeWorkspace(workspace);
  try {
    const outcome = await runSteps(
      deps,
      {
        taskId: args.id,
        template: args.template,
        values: { ...args.values, ...args.secret },
        user: { ref: args.principal.ref, principal: args.principal, ctx: args.ctx, entity: args.userEntity },
        workspace,
        dryRun: true,
        signal: new AbortController().signal,
      },
      sink,
    );
    const files = await collectFiles(workspace, deps.limits);
    return {
      files: redactor.deep(files),
      steps: views,
      log,
      output: outcome.status === 'completed' ? redactor.deep(outcome.output) : null,
    };
  } finally {
    await removeWorkspace(deps.workspaces, workspace);
  }
}

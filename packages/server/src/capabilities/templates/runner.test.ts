import { afterAll, describe, expect, it } from 'vitest';
import type { Principal } from '@idp/contracts';
import { createRenderer } from './render/renderer.ts';
import { emptyCheckpoint, runSteps, type RunSink, type StepState } from './runner.ts';
import { readTemplate } from './templates-catalog.ts';
import type { ActionContext, TemplateAction } from './types.ts';

// The runner with the real sandboxed renderer and a recording action (the plug-in interface every
// action implements): order, if, each (Backstage's list outputs), steps.<id>.output, spec.output,
// a resumed step going on from its checkpoint, a failure naming its step, a cancel.

const renderer = createRenderer();
afterAll(() => renderer.close());

const principal: Principal = {
  ref: 'user:default/alice',
  name: 'alice',
  email: null,
  displayName: null,
  teams: ['payments'],
  roles: ['member'],
  tokenId: null,
};

function setup(steps: unknown[], output?: unknown) {
  const calls: { step: string; input: Record<string, unknown> }[] = [];
  let release: () => void = () => {};
  const echo: TemplateAction = {
    id: 'test:echo',
    description: 'outputs its input; fails when input.fail; waits for its signal when input.block',
    async handler(ctx: ActionContext) {
      calls.push({ step: ctx.stepId, input: ctx.input });
      if (ctx.input.fail) throw new Error(`asked to fail: ${String(ctx.input.fail)}`);
      if (ctx.input.block)
        await new Promise<void>((resolve, reject) => {
          release = resolve;
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted')));
        });
      await ctx.checkpoint.set('seen', true);
      for (const [k, v] of Object.entries(ctx.input)) ctx.output(k, v);
    },
  };
  const template = readTemplate({
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    kind: 'Template',
    metadata: { name: 't', annotations: { 'backstage.io/managed-by-location': 'file:/tmp/t/template.yaml' } },
    spec: { owner: 'platform', type: 'service', steps, ...(output ? { output } : {}) },
  });
  const states: StepState[] = template.steps.map(() => ({
    status: 'pending',
    output: {},
    checkpoint: emptyCheckpoint(),
  }));
  const log: string[] = [];
  let cancel = false;
  const sink: RunSink = {
    steps: states,
    startStep: async (i) => void (states[i]!.status = 'running'),
    saveCheckpoint: async (i, cp) => void (states[i]!.checkpoint = structuredClone(cp)),
    finishStep: async (i, status, out) => {
      states[i]!.status = status;
      states[i]!.output = out;
    },
    log: async (step, level, message) => void log.push(`${step ?? '-'} ${level} ${message}`),
    cancelRequested: () => cancel,
  };
  const controller = new AbortController();
  const run = () =>
    runSteps(
      {
        renderer,
        actions: {
          get: (id) => {
            if (id !== 'test:echo') throw new Error(`no action ${id}`);
            return echo;
          },
        },
      },
      {
        taskId: 'task_x',
        template,
        values: { name: 'svc', envs: ['dev', 'prod'], fancy: false },
        user: { ref: principal.ref, principal, ctx: { principal, requestId: 'r' } },
        workspace: '/nonexistent',
        dryRun: false,
        signal: controller.signal,
      },
      sink,
    );
  return {
    run,
    calls,
    states,
    log,
    release: () => release(),
    cancel: () => {
      cancel = true;
      controller.abort();
    },
  };
}

describe('runSteps', () => {
  it('runs in order: if false skips, each makes list outputs, steps.<id>.output and spec.output render', async () => {
    const r = setup(
      [
        { id: 'one', action: 'test:echo', input: { name: '${{ parameters.name }}', n: 3 } },
        { id: 'skip', if: '${{ parameters.fancy }}', action: 'test:echo', input: {} },
        {
          id: 'per-env',
          each: '${{ parameters.envs }}',
          action: 'test:echo',
          input: { env: '${{ each.value }}', at: '${{ each.key }}', from: '${{ steps.one.output.name }}' },
        },
      ],
      {
        links: [{ title: 'first', url: 'https://x/${{ steps["per-env"].output.env[0] }}' }],
        text: [{ content: 'n=${{ steps.one.output.n }}' }],
      },
    );
    const outcome = await r.run();
    expect(outcome).toEqual({
      status: 'completed',
      output: {
        links: [{ title: 'first', url: 'https://x/dev', entityRef: null, icon: null }],
        text: [{ title: null, content: 'n=3' }],
      },
    });
    expect(r.calls.map((c) => c.step)).toEqual(['one', 'per-env', 'per-env']);
    expect(r.states.map((s) => s.status)).toEqual(['completed', 'skipped', 'completed']);
    expect(r.states[0]!.output).toEqual({ name: 'svc', n: 3 });
    expect(r.states[2]!.output).toEqual({ env: ['dev', 'prod'], at: [0, 1], from: ['svc', 'svc'] });
  });

  it('resumes a step with each from the first item not done, keeping earlier outputs', async () => {
    const r = setup([
      { id: 'one', action: 'test:echo', input: { a: 1 } },
      { id: 'per-env', each: '${{ parameters.envs }}', action: 'test:echo', input: { env: '${{ each.value }}' } },
    ]);
    r.states[0] = { status: 'completed', output: { a: 'kept' }, checkpoint: emptyCheckpoint() };
    r.states[1] = {
      status: 'running',
      output: {},
      checkpoint: { done: { '0': { env: 'dev' } }, data: { '0': { seen: true } } },
    };
    expect((await r.run()).status).toBe('completed');
    expect(r.calls).toEqual([{ step: 'per-env', input: { env: 'prod' } }]);
    expect(r.states[1]!.output).toEqual({ env: ['dev', 'prod'] });
    expect(r.states[1]!.checkpoint.data['1']).toEqual({ seen: true });
  });

  it('a failing step fails the task naming it; later steps stay pending', async () => {
    const r = setup([
      { id: 'one', action: 'test:echo', input: { a: 1 } },
      { id: 'bad', action: 'test:echo', input: { fail: 'disk full' } },
      { id: 'never', action: 'test:echo', input: {} },
    ]);
    expect(await r.run()).toEqual({
      status: 'failed',
      error: { code: 'TEMPLATE_ACTION_FAILED', message: 'asked to fail: disk full', step: 'bad' },
    });
    expect(r.states.map((s) => s.status)).toEqual(['completed', 'failed', 'pending']);
    expect(r.log).toContain('bad error bad: failed: TEMPLATE_ACTION_FAILED: asked to fail: disk full');
  });

  it('a render error fails the step with TEMPLATE_RENDER_FAILED', async () => {
    const r = setup([{ id: 'broken', action: 'test:echo', input: { x: '${{ parameters.name | nosuchfilter }}' } }]);
    const outcome = await r.run();
    expect(outcome.status).toBe('failed');
    expect(outcome.status === 'failed' && outcome.error).toMatchObject({
      step: 'broken',
      code: 'TEMPLATE_RENDER_FAILED',
    });
  });

  it('cancel aborts the running action: cancelled, the step not counted done', async () => {
    const r = setup([
      { id: 'wait', action: 'test:echo', input: { block: true } },
      { id: 'after', action: 'test:echo', input: {} },
    ]);
    const running = r.run();
    await expect.poll(() => r.calls.length).toBe(1);
    r.cancel();
    expect(await running).toEqual({ status: 'cancelled' });
    expect(r.states.map((s) => s.status)).toEqual(['running', 'pending']);
  });
});

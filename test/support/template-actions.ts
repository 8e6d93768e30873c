// Running template actions outside a task: a template folder on disk, a workspace, a real
// renderer (the sandboxed one the runner uses) and an ActionContext whose checkpoint lives as long
// as the Harness, so a second run of a step sees what the first recorded (as a retry does).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Principal } from '@idp/contracts';
import {
  createRenderer,
  type SandboxedRenderer,
} from '../../packages/server/src/capabilities/templates/render/renderer.ts';
import type { ActionContext, TemplateAction } from '../../packages/server/src/capabilities/templates/types.ts';

export interface RunResult {
  output: Record<string, unknown>;
  log: string[];
}

export interface Harness {
  /** The template's folder (holding template.yaml). */
  templateDir: string;
  workspace: string;
  /** Writes a file in the template's folder; `mode` e.g. 0o755. */
  file(path: string, content: string | Buffer, mode?: number): void;
  link(path: string, target: string): void;
  /** Runs an action as step `stepId` with this input (as validated by a registry when given one). */
  run(
    action: TemplateAction,
    input: Record<string, unknown>,
    opts?: { stepId?: string; dryRun?: boolean; principal?: Principal; signal?: AbortSignal },
  ): Promise<RunResult>;
  checkpoints: Map<string, Map<string, unknown>>;
  renderer: SandboxedRenderer;
  close(): Promise<void>;
}

export const TEST_PRINCIPAL: Principal = {
  ref: 'user:default/alice',
  name: 'alice',
  email: 'alice@company.com',
  displayName: null,
  teams: [],
  roles: ['member'],
  tokenId: null,
};

export function actionHarness(): Harness {
  const root = mkdtempSync(join(tmpdir(), 'idp-actions-'));
  const templateDir = join(root, 'template');
  const workspace = join(root, 'workspace');
  mkdirSync(templateDir, { recursive: true });
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(templateDir, 'template.yaml'), 'kind: Template\n');
  const renderer = createRenderer();
  const checkpoints = new Map<string, Map<string, unknown>>();
  return {
    templateDir,
    workspace,
    checkpoints,
    renderer,
    file(path, content, mode) {
      const abs = join(templateDir, path);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, content);
      if (mode !== undefined) chmodSync(abs, mode);
    },
    link(path, target) {
      const abs = join(templateDir, path);
      mkdirSync(dirname(abs), { recursive: true });
      symlinkSync(target, abs);
    },
    async run(action, input, opts = {}) {
      const stepId = opts.stepId ?? action.id.replace(/[^a-z]/g, '-');
      const cp = checkpoints.get(stepId) ?? new Map<string, unknown>();
      checkpoints.set(stepId, cp);
      const output: Record<string, unknown> = {};
      const log: string[] = [];
      const principal = opts.principal ?? TEST_PRINCIPAL;
      const ctx: ActionContext = {
        input: structuredClone(input),
        workspace,
        template: {
          ref: 'template:default/test',
          location: { type: 'file', target: join(templateDir, 'template.yaml') },
        },
        user: { ref: principal.ref, principal, ctx: { principal, requestId: `test-${stepId}` } },
        taskId: 'test-task',
        stepId,
        log: (m, level = 'info') => log.push(level === 'info' ? m : `${level}: ${m}`),
        output: (name, value) => {
          output[name] = value;
        },
        signal: opts.signal ?? new AbortController().signal,
        dryRun: opts.dryRun ?? false,
        renderer,
        checkpoint: {
          get: <T>(key: string) => cp.get(key) as T | undefined,
          set: (key, value) => {
            cp.set(key, structuredClone(value));
            return Promise.resolve();
          },
        },
      };
      await action.handler(ctx);
      return { output, log };
    },
    async close() {
      await renderer.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

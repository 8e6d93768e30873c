// The seams of the golden-path engine, shared by its parts: the renderer (Nunjucks in a sandbox),
// the actions (a registry of `fetch:*`, `fs:*`, `publish:git`, `catalog:register`, `idp:*`) and
// the task runner (durable steps). Each part owns its own files; they meet only here.
import type { Principal } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';

/** What `${{ … }}` expressions of a step's input, `if` and spec.output can read. */
export interface TemplateContext {
  parameters: Record<string, unknown>;
  steps: Record<string, { output: Record<string, unknown> }>;
  user: { ref: string; entity?: unknown };
  /** Inside a step with `each`: the current item. */
  each?: { key: string | number; value: unknown };
}

/** Where a template entity was read from (its location annotation); relative URLs resolve against it. */
export type TemplateLocation =
  | {
      type: 'file';
      /** The absolute path of the template's YAML file. */
      target: string;
    }
  | {
      type: 'url';
      /** The template's URL. */
      target: string;
    }
  | {
      type: 'git';
      /** The git location's target, `repo#branch`. */
      target: string;
      /** The template's YAML file inside the repository (`/`-separated). */
      path: string;
      /** The location registered that brought the template in (`type:target`): its fetch rules apply. */
      origin: string;
    };

/** Clones a git target under the fetch rules of the location registered as `origin` (the catalog's). */
export type GitCheckoutFn = (origin: string, gitTarget: string) => Promise<{ dir: string; cleanup(): Promise<void> }>;

export interface Renderer {
  /**
   * Renders every string inside `value` (deeply, keys untouched). A string that is exactly one
   * `${{ expr }}` keeps the expression's type (number, boolean, object); anything else is a string.
   */
  renderValue(value: unknown, context: TemplateContext): Promise<unknown>;
  /** A step's `if`: rendered, then truthy as Backstage decides (false, 'false', '', 0, null, undefined are false). */
  condition(value: unknown, context: TemplateContext): Promise<boolean>;
  /** A skeleton file's text or a file/folder name, with `${{ values.x }}` and `{% %}` tags; `where` names it in errors. */
  renderText(text: string, context: Record<string, unknown>, where: string): Promise<string>;
}

/** Durable per-step memory, kept across a retry or a restart: what a step already did (e.g. the commit it pushed). */
export interface StepCheckpoint {
  get<T = unknown>(key: string): T | undefined;
  set(key: string, value: unknown): Promise<void>;
}

export interface ActionContext {
  /** The step's input, rendered. */
  input: Record<string, unknown>;
  /** The task's workspace (absolute); actions never read or write outside it (but for their declared effects). */
  workspace: string;
  template: { ref: string; location: TemplateLocation };
  /** The user the task runs as: every effect passes the policy as them. */
  user: { ref: string; principal: Principal; ctx: RequestContext };
  taskId: string;
  stepId: string;
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
  output(name: string, value: unknown): void;
  /** Aborted when the task is cancelled or the control plane stops. */
  signal: AbortSignal;
  /** true: no effect outside the workspace (no publish, register, environment or deploy); say what would be done. */
  dryRun: boolean;
  renderer: Renderer;
  checkpoint: StepCheckpoint;
}

export interface TemplateAction {
  id: string;
  description: string;
  /** JSON Schema of the input (draft 2020-12), checked before the handler runs. */
  inputSchema?: Record<string, unknown>;
  handler(ctx: ActionContext): Promise<void>;
}

// Messages between the renderer (control plane) and its sandbox process. Plain data only: the
// sandbox never receives a function or an object of the control plane, only structured clones.

/** One render: a value rendered deeply (`${{ }}` strings keep their type) or a text (skeleton file, file name). */
export type RenderItem =
  | { op: 'value'; value: unknown; context: number; where: string }
  | { op: 'text'; text: string; context: number; where: string };

export interface RenderBatch {
  type: 'render';
  id: number;
  /** Each distinct context once; items point at them by index (a skeleton's files share one). */
  contexts: unknown[];
  items: RenderItem[];
}

export interface RenderFailure {
  message: string;
  where: string;
  line: number | null;
  column: number | null;
  /** true: the output grew past the size bound (TEMPLATE_RENDER_LIMIT rather than RENDER_FAILED). */
  limit?: boolean;
}

export type RenderResult = { ok: true; value: unknown } | { ok: false; error: RenderFailure };

/** What the sandbox may do, as it sees itself (for tests and diagnostics). */
export interface SandboxProbe {
  /** true: Node's permission model confines the process. */
  confined: boolean;
  fsRead: boolean;
  fsWrite: boolean;
  childProcess: boolean;
  workerThreads: boolean;
  /** The names of its environment variables. */
  env: string[];
}

export type WorkerRequest = RenderBatch | { type: 'probe' };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'rendered'; id: number; results: RenderResult[] }
  | { type: 'probe'; probe: SandboxProbe };

/** Passed in the sandbox's environment (IDP_RENDER_MAX_OUTPUT), the only setting it reads. */
export const MAX_OUTPUT_ENV = 'IDP_RENDER_MAX_OUTPUT';

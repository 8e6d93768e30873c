// The tables of golden-path tasks and pull-request previews (tasks, their steps and logs, webhook
// deliveries, previews and their reports). Part of the schema (see schema.ts).

/** Golden paths' tasks (migration 0012); JSON columns are text. */
export interface TasksTable {
  id: string;
  template_ref: string;
  created_by: string;
  status: 'open' | 'processing' | 'completed' | 'failed' | 'cancelled';
  /** The Template entity as it was when the task was created (JSON): a retry runs the same steps. */
  template: string;
  /** The values (JSON) with secret parameters left out. */
  input_values: string;
  /** The secret parameters' names (JSON list): shown as *** by the API. */
  secret_keys: string;
  /** The secret parameters' values, encrypted with the master key (JSON of the sealed text), or null. */
  secrets: string | null;
  output: string | null;
  error: string | null;
  workspace: string;
  cancel_requested: number;
  /** Lines written to task_logs (bounded). */
  log_count: number;
  created_at: string;
  finished_at: string | null;
  workspace_removed_at: string | null;
}

export interface TaskStepsTable {
  task_id: string;
  /** The step's position in spec.steps. */
  idx: number;
  step_id: string;
  name: string | null;
  action: string;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  output: string | null;
  error: string | null;
  /** JSON: what the action recorded per item (one item without `each`) and the items done with their outputs. */
  checkpoint: string | null;
}

export interface TaskLogsTable {
  task_id: string;
  seq: number;
  at: string;
  step: string | null;
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** Preview environments (migration 0013); JSON columns are text. */
export interface WebhookDeliveriesTable {
  /** X-GitHub-Delivery: a replay of the same id is not processed again. */
  id: string;
  /** X-GitHub-Event, e.g. pull_request, ping. */
  event: string;
  action: string | null;
  /** owner/name as GitHub spells it. */
  repo: string | null;
  number: number | null;
  /** The fields of the payload the life cycle reads (JSON), never the whole body. */
  payload: string;
  /** pending | processing | done | ignored | failed */
  status: string;
  /** What was done, or why nothing was (e.g. "ignored: repository not configured"). */
  outcome: string | null;
  attempts: number;
  received_at: string;
  finished_at: string | null;
}

export interface PreviewsTable {
  repo: string;
  number: number;
  /** The environment, pr-<number>-<repo slug>. */
  env: string;
  /** creating | deploying | ready | failed | deleting | deleted | skipped */
  status: string;
  head_sha: string;
  head_ref: string;
  /** owner/name of the head repository (a fork's, for a pull request from a fork). */
  head_repo: string;
  fork: number;
  /** 1 once a member of the owning team added the trust label to a fork's pull request. */
  trusted: number;
  title: string;
  author: string;
  /** JSON: [{service, version, status, url, deploymentId}] */
  services: string;
  note: string | null;
  /** The id of the one PR comment idp keeps up to date. */
  comment_id: string | null;
  created_at: string;
  updated_at: string;
  expires_at: string | null;
  closed_at: string | null;
}

export interface PreviewReportsTable {
  id: string;
  repo: string;
  number: number;
  /** status | comment */
  kind: string;
  sha: string | null;
  /** JSON of what to send. */
  body: string;
  /** pending | sent | failed */
  status: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

/**
 * The contract between the webhook side (route, deliveries, worker) and the preview life cycle.
 * The worker hands each stored delivery, in order per pull request, to a DeliveryHandler
 * (PreviewService implements it) and records the outcome it returns.
 */

/** A verified, stored GitHub delivery as the worker hands it over. */
export interface WebhookDelivery {
  /** X-GitHub-Delivery (the primary key: a replay is never processed twice). */
  id: string;
  /** X-GitHub-Event: pull_request, ping, … */
  event: string;
  /** payload.action (opened, synchronize, closed, labeled …); null when the event has none. */
  action: string | null;
  /** owner/name as GitHub spells it (payload.repository.full_name); null when absent. */
  repo: string | null;
  /** The pull request number; null when the event is not about one. */
  number: number | null;
  /**
   * The fields of the verified body the life cycle reads (deliveries.ts keptFields): action, number,
   * repository, sender.login, label, before/after, installation, pull_request.{title, state, draft,
   * merged, html_url, updated_at, user.login, labels[].name, head{sha, ref, repo}, base{ref, repo}},
   * each repo as {full_name, clone_url, fork}; strings bounded.
   */
  payload: Record<string, unknown>;
}

export type DeliveryStatus = 'done' | 'ignored' | 'failed';

export interface DeliveryResult {
  /**
   * `interrupted`: the control plane is stopping and cut the work short; nothing is recorded, the
   * delivery stays in progress and is handed over again at the next start.
   */
  status: DeliveryStatus | 'interrupted';
  /** One line a user reads in `idp preview:get` (why ignored, what was done, what failed). */
  outcome: string;
}

export interface DeliveryHandler {
  /**
   * Acts on one delivery. Must be idempotent: after a restart mid-way the same delivery is handed
   * over again. A thrown error is recorded as failed with its message.
   */
  handle(d: WebhookDelivery): Promise<DeliveryResult>;
}

import { z } from 'zod';

/**
 * Preview environments from pull requests: one team-owned environment per open pull request of a
 * configured repository, every service of the repository deployed at the pull request's head.
 */

export const PREVIEW_STATUSES = ['creating', 'deploying', 'ready', 'failed', 'deleting', 'deleted', 'skipped'] as const;
export const PreviewStatus = z.enum(PREVIEW_STATUSES);
export type PreviewStatus = z.infer<typeof PreviewStatus>;

export const PreviewService = z.object({
  service: z.string(),
  version: z.string().nullable().describe('The release deployed (commit12-digest12)'),
  status: z.string().describe('The deployment status: progressing, healthy, rolled_back, failed …'),
  url: z.string().nullable().describe('Through the edge proxy'),
  deploymentId: z.string().nullable(),
});
export type PreviewService = z.infer<typeof PreviewService>;

export const PreviewEvent = z.object({
  delivery: z.string().describe('X-GitHub-Delivery'),
  event: z.string(),
  action: z.string().nullable(),
  receivedAt: z.string(),
  status: z.enum(['pending', 'processing', 'done', 'ignored', 'failed']),
  outcome: z.string().nullable(),
});
export type PreviewEvent = z.infer<typeof PreviewEvent>;

export const Preview = z
  .object({
    repo: z.string().describe('owner/name'),
    number: z.number().int(),
    env: z.string().describe('The environment: pr-<number>-<repo slug>'),
    status: PreviewStatus,
    headSha: z.string(),
    headRef: z.string(),
    headRepo: z.string(),
    fork: z.boolean(),
    trusted: z.boolean().describe("A fork's preview gets the base's secrets only once trusted"),
    title: z.string(),
    author: z.string(),
    team: z.string().describe('The team that owns the preview environment'),
    services: z.array(PreviewService),
    note: z.string().nullable().describe('Why it was skipped, failed or reaped'),
    createdAt: z.string(),
    updatedAt: z.string(),
    expiresAt: z.string().nullable(),
    closedAt: z.string().nullable(),
    events: z.array(PreviewEvent).describe('Deliveries received for this pull request, newest first'),
  })
  .meta({ id: 'Preview' });
export type Preview = z.infer<typeof Preview>;

export const PreviewList = z.object({ items: z.array(Preview) }).meta({ id: 'PreviewList' });
export type PreviewList = z.infer<typeof PreviewList>;

/** The answer to a webhook delivery: 202 and what happens next (or 200 for a replay / ping). */
export const WebhookAccepted = z.object({
  delivery: z.string(),
  status: z.enum(['accepted', 'duplicate', 'ignored', 'pong']),
  reason: z.string().optional(),
});
export type WebhookAccepted = z.infer<typeof WebhookAccepted>;

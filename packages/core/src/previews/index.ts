export { PREVIEW_ENV_MAX, parseRepoFullName, previewEnvName } from './names.ts';
export { decidePreview, previewExists, unwantedReason } from './reducer.ts';
export type {
  PreviewAction,
  PreviewDecision,
  PreviewLifecycleStatus,
  PreviewPolicy,
  PreviewState,
  PullRequestEvent,
} from './reducer.ts';
export { selectReaped } from './reap.ts';
export type { ReapCandidate, Reaped } from './reap.ts';

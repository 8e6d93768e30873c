// What the life cycle's actions do to the platform. PreviewService decides (with the pure reducer
// in core) and records; a PreviewRunner carries the actions out through the environments and
// deployments services, acting for the owning team.
import type { PreviewService as PreviewServiceView } from '@idp/contracts';
import type { PreviewRepositoryConfig } from '../../config/previews.ts';
import type { PreviewRow } from './store.ts';

export interface RunnerTarget {
  /** The preview as recorded (env, head, fork, trusted …). */
  preview: PreviewRow;
  /** The repository's settings (clone URL, services, base, TTL, team). */
  repository: PreviewRepositoryConfig;
}

export interface PreviewRunner {
  /** Makes the environment from the base, with or without the base's secrets. Idempotent. */
  create(t: RunnerTarget, opts: { copySecrets: boolean }): Promise<void>;
  /** Copies the base's secrets into an existing preview (a fork trusted by the owning team). */
  copySecrets(t: RunnerTarget): Promise<void>;
  /** Fetches the head commit and deploys every service; the services as deployed. */
  deploy(
    t: RunnerTarget,
    headSha: string,
    opts: { cancelOlder: boolean; superseded?: () => Promise<string | null> },
  ): Promise<PreviewServiceView[]>;
  /** Removes the environment and all it holds (database, Redis, secrets, processes). Idempotent. */
  teardown(t: RunnerTarget, reason: string): Promise<void>;
}

/** Maps a GitHub login to membership of the owning team (catalog User annotation github.com/user-login). */
export interface TeamMembership {
  isMember(githubLogin: string, team: string): Promise<boolean>;
}

/** A rollout given up because a newer event for the pull request is waiting (its rollouts aborted). */
export class Superseded extends Error {}

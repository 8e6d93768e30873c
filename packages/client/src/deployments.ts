import { IdpError } from '@idp/contracts';
import type {
  CreateDeploymentRequest,
  Deployment,
  DeploymentList,
  Release,
  RollbackRequest,
  UndeployRequest,
  UndeployResult,
} from '@idp/contracts';
import { ApiModule } from './api-module.ts';
import { watch, type WatchOptions } from './poll.ts';
import { idUrl } from './transport.ts';

export type DeploymentListResult = DeploymentList;

/** Deployment list filters; the server defaults `limit` to 20. */
export interface DeploymentFilter {
  service?: string;
  env?: string;
  limit?: number;
}

/** Polls every 500 ms unless `intervalMs` says otherwise. */
export type WatchDeploymentOptions = WatchOptions<Deployment>;

/** How long an upload may take: the server builds the release (e.g. `npm ci`) before it answers. */
const RELEASE_UPLOAD_TIMEOUT_MS = 15 * 60_000;

/** Releases built from source, and their progressive rollouts. */
export class DeploymentsApi extends ApiModule {
  /**
   * Uploads a `git archive --format=tar` of the service directory at `commit`; the server builds
   * it into an immutable release (the same bytes give back the release made before). With `env`,
   * the server first checks that the caller may deploy there, before it reads the archive.
   */
  uploadRelease(service: string, commit: string, tar: Uint8Array, env?: string): Promise<Release> {
    return this.http.request('POST', '/api/releases', {
      query: { service, commit, env },
      rawBody: { data: tar, contentType: 'application/x-tar' },
      timeoutMs: Math.max(this.http.timeoutMs, RELEASE_UPLOAD_TIMEOUT_MS),
    });
  }

  /** Answers 202 at once; the rollout runs on the server (follow it with getDeployment). */
  createDeployment(req: CreateDeploymentRequest): Promise<Deployment> {
    return this.http.request('POST', '/api/deployments', { body: req });
  }

  /** Newest first. */
  listDeployments(filter: DeploymentFilter = {}): Promise<DeploymentListResult> {
    return this.http.request('GET', '/api/deployments', {
      query: { service: filter.service, env: filter.env, limit: filter.limit },
    });
  }

  getDeployment(id: string): Promise<Deployment> {
    return this.http.request('GET', deploymentUrl(id));
  }

  /** Ends the current pause: the rollout moves to its next step. */
  promoteDeployment(id: string): Promise<Deployment> {
    return this.http.request('POST', `${deploymentUrl(id)}/promote`);
  }

  /** Sends all traffic back to the stable release and stops the new one. */
  abortDeployment(id: string): Promise<Deployment> {
    return this.http.request('POST', `${deploymentUrl(id)}/abort`);
  }

  /** Answers 202 at once with the deployment that returns to the earlier version. */
  rollback(req: RollbackRequest): Promise<Deployment> {
    return this.http.request('POST', '/api/deployments/rollback', { body: req });
  }

  /** Stops the service in the environment (replicas and route); `stopped: false` when it was not deployed there. */
  undeploy(req: UndeployRequest): Promise<UndeployResult> {
    return this.http.request('POST', '/api/deployments/undeploy', { body: req });
  }

  /** Reads the deployment until `until` holds (see `watch`): a restarted server resumes (or safely aborts) the rollout. */
  watchDeployment(id: string, opts: WatchDeploymentOptions): Promise<Deployment> {
    return watch(() => this.getDeployment(id), opts, 500);
  }
}

/** Ids are checked by the server; encoding keeps any id inside its own route. */
function deploymentUrl(id: string): string {
  return idUrl(
    '/api/deployments',
    id,
    () =>
      new IdpError('USAGE', `"${id}" is not a deployment id`, {
        field: 'id',
        hint: 'Deployment ids are printed by `idp deploy` and listed in the ID column of `idp deploy:history --service=<the service>`.',
      }),
  );
}

import { ERROR_CODES, IdpError } from '@idp/contracts';
import type { CreateEnvironmentRequest, Environment, EnvironmentConnection, EnvironmentList } from '@idp/contracts';
import { ApiModule } from './api-module.ts';
import { watch, type WatchOptions } from './poll.ts';
import { idUrl } from './transport.ts';

/** `mine` (the default on the server): the caller's own; `all`: every environment the caller may see. */
export interface EnvironmentFilter {
  scope?: 'mine' | 'all';
  includeDeleted?: boolean;
}

/** Polls every 250 ms unless `intervalMs` says otherwise. */
export type WatchEnvironmentOptions = WatchOptions<Environment>;

/** Ephemeral and base environments: their lifecycle and their connection details. */
export class EnvironmentsApi extends ApiModule {
  /** Answers 202 at once with status `provisioning`; the server keeps working in the background. */
  createEnvironment(req: CreateEnvironmentRequest): Promise<Environment> {
    return this.http.request('POST', '/api/environments', { body: req });
  }

  listEnvironments(filter: EnvironmentFilter = {}): Promise<EnvironmentList> {
    const includeDeleted = filter.includeDeleted === undefined ? undefined : String(filter.includeDeleted);
    return this.http.request('GET', '/api/environments', { query: { scope: filter.scope, includeDeleted } });
  }

  /** The live environment; once a delete has finished, its last record (status `deleted`). */
  getEnvironment(name: string): Promise<Environment> {
    return this.http.request('GET', environmentUrl(name));
  }

  /** The new lifetime counts from now. */
  extendEnvironment(name: string, ttl: string): Promise<Environment> {
    return this.http.request('POST', `${environmentUrl(name)}/extend`, { body: { ttl } });
  }

  /** Answers 202 at once with status `deleting`. */
  deleteEnvironment(name: string): Promise<Environment> {
    return this.http.request('DELETE', environmentUrl(name));
  }

  /** The connection variables, passwords included (audited). */
  connectEnvironment(name: string): Promise<EnvironmentConnection> {
    return this.http.request('POST', `${environmentUrl(name)}/connect`);
  }

  /** Reads the environment until `until` holds (see `watch`): a restarted server resumes the work. */
  watchEnvironment(name: string, opts: WatchEnvironmentOptions): Promise<Environment> {
    return watch(() => this.getEnvironment(name), opts, 250);
  }
}

/** Names are checked by the server; encoding keeps any name inside its own route. */
function environmentUrl(name: string): string {
  return idUrl(
    '/api/environments',
    name,
    () =>
      new IdpError('INVALID_NAME', `"${name}" is not an environment name`, {
        field: 'name',
        hint: ERROR_CODES.INVALID_NAME.hint,
      }),
  );
}

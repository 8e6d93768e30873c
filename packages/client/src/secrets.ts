import { ERROR_CODES, IdpError } from '@idp/contracts';
import type {
  SecretList,
  SecretMeta,
  SecretValue,
  SecretVersionList,
  WorkloadToken,
  WorkloadTokenInfo,
  WorkloadTokenList,
} from '@idp/contracts';
import { ApiModule } from './api-module.ts';

export interface SecretFilter {
  env?: string;
  service?: string;
}

/** Encrypted secrets per environment and service, and the workload tokens that read them. */
export class SecretsApi extends ApiModule {
  /** Stores a new encrypted version at `<env>/<service>/<KEY>`; the server checks the path. */
  setSecret(path: string, value: string): Promise<SecretMeta> {
    return this.http.request('PUT', secretUrl(path), { body: { value } });
  }

  /** The value (audited); production needs an active access grant. */
  getSecret(path: string, version?: number): Promise<SecretValue> {
    return this.http.request('GET', secretUrl(path), { query: { version } });
  }

  /** Names, versions and who changed them; never values. */
  listSecrets(filter: SecretFilter = {}): Promise<SecretList> {
    return this.http.request('GET', '/api/secrets', { query: { ...filter } });
  }

  deleteSecret(path: string): Promise<SecretMeta> {
    return this.http.request('DELETE', secretUrl(path));
  }

  secretVersions(path: string): Promise<SecretVersionList> {
    return this.http.request('GET', `${secretUrl(path)}/versions`);
  }

  /** A token for the Vault-compatible endpoint, for one environment and service. */
  createWorkloadToken(req: { env: string; service: string; ttl?: string }): Promise<WorkloadToken> {
    return this.http.request('POST', '/api/secrets/tokens', { body: req });
  }

  /** Workload tokens you made (platform admins: all); never the tokens themselves. */
  listWorkloadTokens(filter: SecretFilter = {}): Promise<WorkloadTokenList> {
    return this.http.request('GET', '/api/secrets/tokens', { query: { ...filter } });
  }

  /** Revokes a workload token (its creator or a platform admin); Vault reads with it fail from now on. */
  revokeWorkloadToken(id: string): Promise<WorkloadTokenInfo> {
    return this.http.request('DELETE', `/api/secrets/tokens/${encodeURIComponent(id)}`);
  }
}

/**
 * `<env>/<service>/<KEY>` → its API URL; the server checks each part. A path that is not three
 * parts is refused here: URL resolution would turn `..` parts into another API route.
 */
function secretUrl(path: string): string {
  const parts = path.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new IdpError(
      'SECRET_PATH_INVALID',
      `"${path.slice(0, 200)}" is not a secret path: it must be three non-empty parts separated by "/"`,
      {
        field: 'path',
        hint: ERROR_CODES.SECRET_PATH_INVALID.hint,
      },
    );
  }
  return `/api/secrets/${parts.map(encodeURIComponent).join('/')}`;
}

import { AccessApi } from './access.ts';
import { ApiModule, mixIn } from './api-module.ts';
import { AuditApi } from './audit.ts';
import { CatalogApi } from './catalog.ts';
import { DeploymentsApi } from './deployments.ts';
import { EnvironmentsApi } from './environments.ts';
import { IdentityApi } from './identity.ts';
import { ObservabilityApi } from './observability.ts';
import { PolicyApi } from './policy.ts';
import { PreviewsApi } from './previews.ts';
import { SecretsApi } from './secrets.ts';
import { SystemApi } from './system.ts';
import { TemplatesApi } from './templates.ts';
import { TokensApi } from './tokens.ts';
import { Transport, type HttpMethod, type IdpClientOptions, type RequestOptions } from './transport.ts';

// Declaration merging gives IdpClient the types of the methods `mixIn` copies onto it below.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the mixin pattern
export interface IdpClient
  extends
    SystemApi,
    IdentityApi,
    TokensApi,
    AuditApi,
    PolicyApi,
    CatalogApi,
    SecretsApi,
    AccessApi,
    EnvironmentsApi,
    DeploymentsApi,
    ObservabilityApi,
    TemplatesApi,
    PreviewsApi {}

/**
 * Typed access to the idp HTTP API, one flat client over the capability modules (one file
 * each) and the transport. Every failure surfaces as an IdpError, the server's own errors
 * included (see Transport).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the mixin pattern
export class IdpClient extends ApiModule {
  readonly url: string;

  constructor(opts: IdpClientOptions) {
    const http = new Transport(opts);
    super(http);
    this.url = http.url;
  }

  get hasToken(): boolean {
    return this.http.hasToken;
  }

  /** One call to any API route; see Transport.request. */
  request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    return this.http.request<T>(method, path, opts);
  }
}

mixIn(IdpClient, [
  SystemApi,
  IdentityApi,
  TokensApi,
  AuditApi,
  PolicyApi,
  CatalogApi,
  SecretsApi,
  AccessApi,
  EnvironmentsApi,
  DeploymentsApi,
  ObservabilityApi,
  TemplatesApi,
  PreviewsApi,
]);

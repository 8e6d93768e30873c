export {
  IdpClient,
  type IdpClientOptions,
  type RequestOptions,
  type HttpMethod,
  type QueryValue,
  type AuditFilter,
  type AuditList,
  type TokenList,
  type PolicyQuestion,
  type HealthStatus,
  type ReadinessStatus,
} from './client.ts';

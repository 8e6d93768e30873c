export { IdpClient } from './client.ts';
export type { IdpClientOptions, RequestOptions, HttpMethod, QueryValue } from './transport.ts';
export type { WatchOptions } from './poll.ts';
export type { HealthStatus, ReadinessStatus } from './system.ts';
export type { AuditFilter } from './audit.ts';
export type { PolicyQuestion } from './policy.ts';
export type { EntityFilter, RegisterLocation } from './catalog.ts';
export type { SecretFilter } from './secrets.ts';
export type { AccessFilter } from './access.ts';
export type { EnvironmentFilter, WatchEnvironmentOptions } from './environments.ts';
export type { DeploymentFilter, DeploymentListResult, WatchDeploymentOptions } from './deployments.ts';
export type {
  LogsFilter,
  PromQueryData,
  PromInstantSeries,
  PromRangeSeries,
  InstantOptions,
  RangeOptions,
  DashboardOptions,
  TracesFilter,
} from './observability.ts';
export type { TaskFilter, CreateTaskOptions, TaskEvent } from './templates.ts';
export { parsePullRequestRef, type PullRequestRef } from './previews.ts';
export type { ServerSentEvent } from './sse.ts';
// Answers are the contracts' own types; re-exported under the names callers already use.
export type {
  AuditList,
  TokenList,
  CatalogLocationList,
  RefreshResultList,
  CatalogErrorList,
  CatalogEntityPage,
  DependencyTree,
  ImpactEntry,
  TeamSummary,
  TeamList,
  SecretList,
  WorkloadTokenList,
  AccessRequestList,
} from '@idp/contracts';

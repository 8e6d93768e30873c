// @idp/runtime-local: runs releases as local processes (ProcessSupervisor), routes and splits
// their traffic on one port (EdgeProxy), and checks their health (HealthChecker).
export { realTimers, ManualTimers } from './clock.ts';
export type { Timers, TimerHandle } from './clock.ts';
export { RuntimeError } from './errors.ts';
export type { RuntimeErrorCode } from './errors.ts';
export { HealthChecker } from './health.ts';
export type { HealthCheckerOptions, HealthCheckResult, HealthProbe, HealthTarget } from './health.ts';
export { readLogTail } from './logs.ts';
export { parseStamped, stampOf } from './log-stamp.ts';
export { rotateLogFile, rotatedFiles } from './log-rotation.ts';
export type { RotationLimits } from './log-rotation.ts';
export { diffSnapshots, emptySnapshot, LatencyHistogram, PROMETHEUS_LATENCY_BUCKETS } from './metrics.ts';
export type { MetricsSnapshot, PrometheusFigures, ReleaseMetrics } from './metrics.ts';
export { findFreePort, probeHttp, probeTcp } from './probe.ts';
export type { ProbeResult } from './probe.ts';
export { isGroupAlive, isProcessAlive, killRecorded, processStartTime } from './process-group.ts';
export type { KillRecordedResult, RecordedProcess } from './process-group.ts';
export { EdgeProxy } from './proxy.ts';
export {
  DEFAULT_SPANS_PER_ROUTE,
  MAX_SPAN_PATH,
  newSpanId,
  newTraceId,
  parseTraceparent,
  ProxySpanRing,
  SpanRing,
} from './spans.ts';
export type { ProxySpan } from './spans.ts';
export { runBuild } from './build.ts';
export type { BuildResult, BuildRun } from './build.ts';
export { findBwrap, Sandbox, SANDBOX_APP, SANDBOX_SCRATCH } from './sandbox.ts';
export type { SandboxOptions, SandboxProbe, SandboxSpec } from './sandbox.ts';
export type { BackendSpec, CanarySpec, EdgeProxyOptions, ProxyTarget, RouteSpec } from './proxy.ts';
export {
  backoffDelay,
  CrashLoopDetector,
  DEFAULT_BACKOFF,
  DEFAULT_CRASH_LOOP,
  DEFAULT_READINESS,
} from './restart-policy.ts';
export type { BackoffOptions, CrashLoopOptions, ReadinessOptions } from './restart-policy.ts';
export { ProcessSupervisor, ReleaseProcesses } from './supervisor.ts';
export type {
  RecordedReplica,
  ReleaseSpec,
  ReplicaInfo,
  ReplicaStatus,
  SupervisorEvent,
  SupervisorEventType,
  SupervisorOptions,
} from './supervisor-types.ts';

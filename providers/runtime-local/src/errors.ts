// Errors of the local runtime. The control plane maps them onto its error catalogue (IdpError);
// the codes here are stable so that mapping can switch on them.
export type RuntimeErrorCode =
  /** A replica keeps exiting (see CrashLoopOptions); details carry the replica and its log tail. */
  | 'CRASH_LOOP'
  /** Not every replica became ready in time. */
  | 'READY_TIMEOUT'
  /** start() for a release the supervisor already runs. */
  | 'RELEASE_RUNNING'
  /** The release was stopped while someone waited for it. */
  | 'RELEASE_STOPPED';

export class RuntimeError extends Error {
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

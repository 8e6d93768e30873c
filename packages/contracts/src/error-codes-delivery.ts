// The error catalogue, part 2: access requests, environments, deployments and releases, the
// runtime and edge proxy, observability. errors.ts joins the parts into ERROR_CODES.
import type { ErrorCodeSpec } from './error-spec.ts';
import { fillHint } from './error-hints.ts';

export const DELIVERY_ERRORS = {
  ACCESS_REQUEST_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No access request has this id (or it is not one you may see).',
    hint: 'Run `idp access:list` to see request ids.',
  },
  ACCESS_DURATION_TOO_LONG: {
    status: 400,
    exit: 2,
    meaning: 'The requested access window is longer than the policies allow for this secret.',
    hint: 'Ask for a shorter --duration; the error names the maximum and the policy that sets it.',
  },
  ACCESS_SELF_APPROVAL: {
    status: 403,
    exit: 3,
    meaning: 'Nobody approves or denies their own access request.',
    hint: 'Ask a member of the owning team or a platform admin (`idp access:list` shows the approvers).',
  },
  ACCESS_ALREADY_DECIDED: {
    status: 409,
    exit: 1,
    meaning: 'The access request was already approved, denied or revoked, so this decision cannot be made.',
    hint: 'Run `idp access:list` to see its state; revoke an approved grant with `idp access:revoke`.',
  },
  ACCESS_REQUEST_EXPIRED: {
    status: 409,
    exit: 1,
    meaning: 'The access request (or its grant) has expired, so it can no longer be approved or revoked.',
    hint: 'Ask again with `idp access:request`.',
  },
  ACCESS_EXPIRED: {
    status: 403,
    exit: 3,
    meaning: 'Your access grant for this secret has ended.',
    hint: 'Ask again with `idp access:request` for the same --secret, with a --reason and a --duration (e.g. 1h).',
  },
  ENV_EXISTS: {
    status: 409,
    exit: 1,
    meaning: 'An environment with this name already exists (or is being created or deleted).',
    hint: 'Pick another --name; `idp env:list --all` shows the names in use.',
    hintFor: fillHint.envExists,
  },
  ENV_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No environment has this name (or it is not one you may see).',
    hint: 'Run `idp env:list --all` to see the environments you may see.',
  },
  ENV_SOURCE_INVALID: {
    status: 400,
    exit: 2,
    meaning: 'The environment to clone (--from) is not a base environment with its resources declared in the config.',
    hint: 'Clone a base environment, e.g. --from=staging; `idp env:list --all` marks them as base.',
  },
  ENV_NAME_RESERVED: {
    status: 400,
    exit: 2,
    meaning: 'The name belongs to a base environment (or is reserved by the platform).',
    hint: 'Pick another --name, such as feature-payments.',
    hintFor: fillHint.envNameReserved,
  },
  ENV_TTL_TOO_LONG: {
    status: 400,
    exit: 2,
    meaning: 'The requested lifetime is longer than the policies allow.',
    hint: 'Ask for a shorter --ttl; the error names the maximum and the policy that sets it.',
  },
  ENV_QUOTA_EXCEEDED: {
    status: 403,
    exit: 3,
    meaning: 'You already have as many environments as the policies allow.',
    hint: 'Delete one you no longer need: `idp env:list` shows yours, `idp env:delete` removes one.',
    hintFor: fillHint.envQuotaExceeded,
  },
  ENV_BASE_PROTECTED: {
    status: 403,
    exit: 3,
    meaning:
      'Base environments (declared in the config) are never deleted, extended or reaped through the environment commands.',
    hint: 'Change base environments in the config file; work on a copy with `idp env:create --from=staging`.',
    hintFor: fillHint.envBaseProtected,
  },
  ENV_NOT_READY: {
    status: 409,
    exit: 1,
    meaning: 'The environment is not ready (still provisioning, failed, or being deleted), so this cannot be done yet.',
    hint: 'Follow it with `idp env:get --watch`; a failed environment can be removed with `idp env:delete`.',
    hintFor: fillHint.envNotReady,
  },
  ENV_PROVIDER_UNAVAILABLE: {
    status: 503,
    exit: 1,
    meaning:
      'The PostgreSQL or Redis server that environments are made on is not configured or not reachable; details name each resource and what it needs.',
    hint: 'Set postgres.adminUrl and redis.url in the config (or IDP_POSTGRES_ADMIN_URL / IDP_REDIS_URL) to servers the control plane can reach.',
  },
  ENV_RESOURCE_CONFLICT: {
    status: 409,
    exit: 1,
    meaning:
      "A database, role or Redis user with the environment's derived name already exists and was not made by idp for this environment; idp neither adopts nor removes it.",
    hint: 'Pick another --name, or remove the stray resource after checking nobody uses it.',
  },
  DEPLOY_SPEC_INVALID: {
    status: 400,
    exit: 2,
    meaning:
      "The release's .idp/deploy.yaml is missing or invalid; details.problems lists each problem with file:line:column, the field and what was expected.",
    hint: "Run `idp deploy:validate` in the service's repository; `idp deploy:schema` prints the JSON Schema for your editor.",
  },
  DEPLOY_RUN_NOT_INFERRED: {
    status: 400,
    exit: 2,
    meaning:
      '.idp/deploy.yaml gives no run command and none could be inferred: the release has neither a Procfile with a web: line nor a package.json with scripts.start.',
    hint: 'Add `run: {command: node server.js}` (your start command) to .idp/deploy.yaml, or a "start" script to package.json.',
  },
  DEPLOY_NODE_UNSUPPORTED: {
    status: 400,
    exit: 2,
    meaning:
      "package.json's engines.node excludes the Node.js version the runtime has; details.wanted and details.available say which.",
    hint: 'Widen engines.node in package.json to include the runtime\'s version (e.g. ">=20"), or ask the platform team for that Node.js version.',
  },
  DEPLOY_SERVICE_UNKNOWN: {
    status: 400,
    exit: 2,
    meaning: 'The service named in deploy.yaml is not a Component in the catalog.',
    hint: "Register the service's catalog-info.yaml (`idp catalog:register`) or fix service.name in .idp/deploy.yaml.",
  },
  DEPLOY_TEAM_MISMATCH: {
    status: 400,
    exit: 2,
    meaning: "The team in deploy.yaml is not the service's owner in the catalog.",
    hint: "Set service.team in .idp/deploy.yaml to the owner the catalog names (`idp catalog:get` with the service's name).",
    hintFor: fillHint.deployTeamMismatch,
  },
  RELEASE_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No release of this service has this version.',
    hint: "Run `idp deploy:history` with the service's name to see its versions, or deploy from the repository with `idp deploy`.",
    hintFor: fillHint.releaseNotFound,
  },
  DEPLOY_BUILD_FAILED: {
    status: 422,
    exit: 1,
    meaning:
      "The release's build command failed; the release is marked failed with the tail of its output, and nothing running was touched.",
    hint: 'Fix the build (details.output has the end of its output) and deploy again.',
  },
  RELEASE_ARCHIVE_UNSAFE: {
    status: 400,
    exit: 2,
    meaning:
      'The release archive has an entry idp does not unpack: a symbolic or hard link, a device or fifo, an absolute path or one that leaves the release (`..`); details.entry names it. Nothing was kept.',
    hint: 'A release holds regular files and directories only: replace links by the files they point to, keep every path inside the service directory, and run `git archive` again.',
  },
  RELEASE_TOO_LARGE: {
    status: 413,
    exit: 1,
    meaning:
      'The release upload, its unpacked size or its number of entries is over the limit in details.limit (config deployments.releases); it was refused as soon as the limit was passed and nothing was kept.',
    hint: 'Keep dependencies and build output out of the repository (the build runs on the platform), or ask the platform team to raise deployments.releases in the config.',
  },
  RUNTIME_ISOLATION_UNAVAILABLE: {
    status: 503,
    exit: 1,
    meaning:
      'Builds and workloads must run in the sandbox (runtime.isolation: sandbox), and the control plane cannot start one here; details.problem says what is missing. Nothing was built or started.',
    hint: 'Install bubblewrap (`apt-get install -y bubblewrap`) and run the control plane as root, or point IDP_BWRAP_PATH at bwrap; then restart it. Only for a trusted single-user setup: runtime.isolation: none in the config.',
  },
  DEPLOYMENT_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No deployment has this id (or none of this service in this environment).',
    hint: "Check the id: `idp deploy:history` with the service's name lists its deployments and their ids.",
    hintFor: fillHint.deploymentNotFound,
  },
  DEPLOY_IN_PROGRESS: {
    status: 409,
    exit: 1,
    meaning: 'Another rollout of this service in this environment is still running.',
    hint: 'Follow it with `idp deploy:status --watch`, promote it (`idp deploy:promote`) or abort it (`idp deploy:abort`), each with its id.',
    hintFor: fillHint.deployInProgress,
  },
  DEPLOY_NOT_ACTIVE: {
    status: 409,
    exit: 1,
    meaning:
      'The deployment has already ended (healthy, rolled back, aborted or failed), so it cannot be promoted or aborted.',
    hint: 'Run `idp deploy:status` with its id to see how it ended; `idp rollback` returns to an earlier version.',
    hintFor: fillHint.deployNotActive,
  },
  ROLLBACK_TARGET_INVALID: {
    status: 400,
    exit: 2,
    meaning:
      'There is no earlier healthy version of this service in this environment to return to (or --to names one that never ran healthy here).',
    hint: 'Run `idp deploy:history` with the same --service and --env to see the versions that were healthy.',
    hintFor: fillHint.rollbackTargetInvalid,
  },
  PROXY_NO_ROUTE: {
    status: 404,
    exit: 4,
    meaning: 'The edge proxy has no service at this Host (<service>.<namespace>.localhost): nothing is deployed there.',
    hint: 'Check the host name (`idp deploy:status` shows the URL) or deploy the service to that environment with `idp deploy --env`.',
  },
  PROXY_NO_HEALTHY_TARGET: {
    status: 503,
    exit: 1,
    meaning: 'The edge proxy found the service but none of its replicas is ready.',
    hint: 'See what the replicas print with `idp logs` (the service, with --env) and the rollout with `idp deploy:status`.',
  },
  PROXY_BAD_GATEWAY: {
    status: 502,
    exit: 1,
    meaning:
      'The edge proxy could not reach a replica (connection refused or reset); it counts as a 5xx of that release.',
    hint: 'The replica may have crashed; it is restarted with backoff. See its log.',
  },
  PROXY_UPSTREAM_TIMEOUT: {
    status: 504,
    exit: 1,
    meaning: "A replica did not start answering within the proxy's upstream timeout (60 s).",
    hint: "Look for slow requests in the service; the timeout is the proxy's upstreamTimeoutMs.",
  },
  OBSERVABILITY_UNAVAILABLE: {
    status: 503,
    exit: 1,
    meaning:
      'No Prometheus to query: observability.prometheus.url is unset and the managed Prometheus is not running, or Prometheus did not answer.',
    hint: 'Set observability.prometheus.url in idp.config.yaml to a running Prometheus, or install one (apt-get install -y prometheus) and check observability.prometheus.binary.',
  },
  OBSERVABILITY_QUERY_INVALID: {
    status: 400,
    exit: 2,
    meaning: 'The PromQL query (or match[] selector) does not parse; the message gives the line:column.',
    hint: 'Fix the query at the position named, e.g. sum by (service) (rate(idp_proxy_requests_total[5m])).',
  },
  OBSERVABILITY_QUERY_TOO_LARGE: {
    status: 422,
    exit: 2,
    meaning:
      'The query is longer than observability.query.maxQueryBytes, or a range query spans more than maxRange or more than maxPoints steps.',
    hint: 'Shorten the query, narrow the time range or raise the step; the limits are observability.query in idp.config.yaml.',
  },
  OBSERVABILITY_DASHBOARD_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No dashboard has this name, or none you may see (the answer is the same either way).',
    hint: 'Run `idp dash` to list the dashboards you can open; every service has one named after it.',
  },
  OBSERVABILITY_DASHBOARD_INVALID: {
    status: 400,
    exit: 2,
    meaning:
      "A dashboard definition was refused when it was loaded (YAML, schema, a panel's PromQL, or a name it may not use); it is not served. The report gives file:line:column.",
    hint: "Fix the file at the position named; a repository's dashboards live in .idp/dashboards/*.yaml and are named <service>-….",
  },
  INTERNAL: {
    status: 500,
    exit: 1,
    meaning: 'An unexpected server error. It is logged with the request id.',
    hint: 'Report the request id to your platform team.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;

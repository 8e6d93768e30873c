import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IdpError } from '@idp/contracts';
import { PolicyEngine, parseDuration, shortRef } from '@idp/core';
import { buildApp, type Services } from './app.ts';
import { AuditLog, unlockAuditKey } from './audit/index.ts';
import { resolveAdminToken } from './admin-token.ts';
import { adminTokenLine, auditLine, secretsLine, storesLine } from './startup-lines.ts';
import { systemClock, randomIds } from './clock.ts';
import type { RunningServer, StartOptions } from './server-options.ts';

export type { RunningServer, StartOptions } from './server-options.ts';
import { loadConfig, policySourcesFor, storeUrls, type LoadedConfig } from './config/index.ts';
import { Directory } from './identity/index.ts';
import { PolicyGate } from './policy/gate.ts';
import { openStore } from './store/index.ts';
import { Lifecycle, PeriodicTask, listenFailure } from './lifecycle/index.ts';
import { TokenService } from './capabilities/tokens/service.ts';
import { FetchRules } from './capabilities/catalog/fetch-rules.ts';
import { sharedGitRootsOf } from './capabilities/catalog/shared-git.ts';
import { CatalogService } from './capabilities/catalog/service.ts';
import {
  SecretCipher,
  SecretResources,
  SecretsService,
  catalogOwnership,
  tierLookup,
  unlockMasterKey,
} from './capabilities/secrets/index.ts';
import { AccessService, WebhookNotifier } from './capabilities/access/index.ts';
import {
  EnvironmentService,
  Reaper,
  syncBaseEnvironments,
  type EnvironmentInfra,
} from './capabilities/environments/index.ts';
import { refreshSnapshots } from './capabilities/environments/snapshot-refresh.ts';
import { PostgresProvider } from '@idp/provider-postgres';
import { RedisProvider } from '@idp/provider-redis';
import { DeployAuthorizer } from './capabilities/deployments/index.ts';
import { LogService } from './capabilities/observability/logs.ts';
import { TeamViews, unknownTeamWarnings } from './capabilities/observability/team-views.ts';
import { RuntimeIsolation, secureDataDir } from './capabilities/runtime/index.ts';
import { composeObservability } from './capabilities/observability/compose.ts';
import { ReconcilerLag } from './capabilities/observability/reconciler-lag.ts';
import { ensureScrapeToken } from './capabilities/observability/scrape-token.ts';
import { composeTemplates } from './capabilities/templates/compose.ts';
import { composeWebhooks } from './capabilities/previews/webhook-wiring.ts';
import { composePreviewApi } from './capabilities/previews/api-wiring.ts';
import { composePreviewLifecycle } from './capabilities/previews/lifecycle-wiring.ts';
import { composeRuntime } from './runtime-wiring.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function readVersion(): string {
  try {
    return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const env = process.env;
  const port = opts.port ?? (env.IDP_PORT ? Number(env.IDP_PORT) : 7070);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new IdpError(
      'CONFIG_INVALID',
      `port must be a whole number from 0 to 65535 (got ${opts.port ?? env.IDP_PORT})`,
      { field: 'port' },
    );
  }
  const host = opts.host ?? env.IDP_HOST ?? '127.0.0.1';
  const dataDir = resolve(opts.dataDir ?? env.IDP_DATA_DIR ?? '.idp');
  const configPath = opts.configPath ?? env.IDP_CONFIG ?? join(REPO_ROOT, 'examples/acme/idp.config.yaml');
  const clock = opts.clock ?? systemClock;
  const ids = opts.ids ?? randomIds;

  const loaded = loadConfig(configPath);
  const engine = PolicyEngine.load(policySourcesFor(loaded));
  for (const w of engine.warnings) log(`warning: policy ${w}`);
  // Filled from the catalog's User and Group entities once the catalog has read its locations.
  const directory = new Directory(loaded.config.auth.adminGroup);

  // Every component registers its stop as soon as it exists: `close` (and a failed start) stop
  // them in the reverse order, so each stops before what it was built on.
  const lifecycle = new Lifecycle({ log });
  const store = await openStore({ databaseUrl: opts.databaseUrl ?? env.IDP_DATABASE_URL, dataDir });
  lifecycle.register('state store', () => store.close());
  try {
    // First, before anything is written: a wrong master key must refuse to start and touch nothing.
    const masterKey = await unlockMasterKey(store.db, clock, dataDir, opts.masterKey ?? env.IDP_MASTER_KEY);
    const admin = resolveAdminToken(dataDir, opts.adminToken ?? env.IDP_ADMIN_TOKEN);
    // Workloads never see it (they run as other users in sandboxes), and no other user may either.
    for (const warning of await secureDataDir(dataDir)) log(`warning: ${warning}`);
    // Before the first append: a different audit key (or a removed marker) refuses to start.
    const auditKey = await unlockAuditKey(store.db, dataDir, opts.auditKey ?? env.IDP_AUDIT_KEY, log);
    const audit = new AuditLog(store.db, clock, store.dialect, auditKey);
    const gate = new PolicyGate(engine, directory, audit);
    const reconcilerLag = new ReconcilerLag();
    const tokens = new TokenService(
      store.db,
      directory,
      gate,
      audit,
      clock,
      ids,
      admin.token,
      loaded.config.auth.tokenTtl,
    );
    const catalog = new CatalogService({
      store,
      audit,
      gate,
      directory,
      clock,
      log,
      settings: { ...loaded.config.catalog, baseDir: loaded.baseDir },
      readOptions: {
        fetchRules: new FetchRules(loaded.config.catalog.fetch.allowHosts),
        log,
        // publish:git's file:// remotes are shared repositories: anyone may register them.
        sharedGitRoots: sharedGitRootsOf(loaded.config.templates.publish.git.allowedRemotes),
      },
    });
    lifecycle.register('catalog', () => catalog.stop());
    await catalog.start({ timer: opts.catalogTimer ?? true });
    // An environment's tier decides its secrets' tier: base environments declare it, clones
    // inherit their source's; secrets.productionEnvironments still names extra ones.
    const listedTier = tierLookup(loaded.config.secrets.productionEnvironments);
    let envTier: (env: string) => string | undefined = () => undefined;
    const secretResources = new SecretResources(catalogOwnership(catalog), (env) =>
      envTier(env) === 'production' ? 'production' : listedTier(env),
    );
    const notifier = new WebhookNotifier(loaded.config.access.webhookUrl, log);
    const access = new AccessService({
      db: store.db,
      audit,
      gate,
      directory,
      clock,
      ids,
      resources: secretResources,
      notifier,
      settings: loaded.config.access,
      log,
    });
    lifecycle.register('access', () => access.stop());
    const secrets = new SecretsService({
      db: store.db,
      dialect: store.dialect,
      audit,
      gate,
      clock,
      ids,
      cipher: new SecretCipher(masterKey),
      resources: secretResources,
      grants: access,
    });
    const infra = environmentInfra(loaded, opts, env);
    lifecycle.register('redis', () => infra.redis?.close());
    const envSettings = { ...loaded.config.environments, baseDir: loaded.baseDir, dataDir };
    const envNotifier = new WebhookNotifier(
      loaded.config.environments.webhookUrl ?? loaded.config.access.webhookUrl,
      log,
    );
    lifecycle.register('environment notifications', () => envNotifier.close());
    const environments = new EnvironmentService({
      db: store.db,
      audit,
      gate,
      directory,
      clock,
      ids,
      cipher: new SecretCipher(masterKey),
      secrets,
      access,
      notifier: envNotifier,
      infra,
      settings: envSettings,
      log,
    });
    envTier = (name) => environments.tierOf(name);
    const baseSync = await syncBaseEnvironments({ db: store.db, settings: envSettings, infra, secrets, clock, ids });
    await environments.loadTiers();
    await environments
      .ensureBaseAccess()
      .catch((err: Error) => log(`  environments: base workload credentials not ready: ${err.message}`));
    const reaper = new Reaper({
      db: store.db,
      audit,
      clock,
      notifier: envNotifier,
      environments,
      log,
      reapInterval: envSettings.reapInterval,
      notifyBefore: envSettings.notifyBefore,
    });
    const owners = catalogOwnership(catalog);
    const isolation = await RuntimeIsolation.start({
      mode: loaded.config.runtime.isolation,
      dataDir,
      db: store.db,
      clock,
      namespaceDir: (ns) => environments.namespaceDir(ns),
      bwrapPath: opts.bwrapPath ?? env.IDP_BWRAP_PATH,
      buildCacheSeed:
        loaded.config.runtime.buildCacheSeed && resolve(loaded.baseDir, loaded.config.runtime.buildCacheSeed),
    });
    const authz = new DeployAuthorizer({
      db: store.db,
      gate,
      clock,
      owners,
      grants: access,
      liveEnvironment: (name) => environments.live(name),
      environmentEntity: (row) => environments.entityOf(row),
      productionSecrets: (name) => secretResources.tierOf(name) === 'production',
    });
    // observability.teams: what each team sees beyond what it owns (members default to the Group's).
    const teamViews = new TeamViews({
      teams: loaded.config.observability.teams,
      groupMembers: (team) => directory.membersOf(`group:default/${team}`).map((m) => shortRef(m.ref)),
    });
    const logs = new LogService({
      readable: (ref) => authz.readable(ref),
      views: teamViews,
      teamOf: (service) => authz.teamOf(service).catch(() => null),
      namespaceOf: async (name) => (await environments.live(name))?.namespace,
      namespaceDir: (ns) => environments.namespaceDir(ns),
    });
    lifecycle.register('log followers', () => logs.stop());
    const { releases, proxy, supervisor, scrapeTargets, traces, deployments } = await composeRuntime({
      config: loaded.config,
      db: store.db,
      audit,
      gate,
      clock,
      ids,
      environments,
      secrets,
      owners,
      authz,
      isolation,
      reconcilerLag,
      lifecycle,
      dataDir,
      host,
      proxyPort: opts.proxyPort ?? (env.IDP_PROXY_PORT ? Number(env.IDP_PROXY_PORT) : 7080),
      otlpPort: opts.otlpPort ?? (env.IDP_OTLP_PORT ? Number(env.IDP_OTLP_PORT) : undefined),
      log,
    });
    // Golden paths: tasks run as their user through the same services (and policies) as the API.
    const { templates, closeRenderer } = composeTemplates({
      store,
      audit,
      gate,
      directory,
      clock,
      ids,
      cipher: new SecretCipher(masterKey),
      tokens,
      catalog,
      environments,
      deployments,
      releases,
      config: loaded.config.templates,
      baseDir: loaded.baseDir,
      dataDir,
      log,
    });
    lifecycle.register('template renderer', closeRenderer);
    // Before the environments and deployments stop: a running step is stopped where it is.
    lifecycle.register('tasks', () => templates.stop(), { timeoutMs: 30_000 });
    const {
      metrics,
      prometheus,
      query: observabilityQuery,
      dashboards,
    } = composeObservability({
      db: store.db,
      dialect: store.dialect,
      config: loaded.config.observability,
      dataDir,
      log,
      proxy,
      gate,
      authz,
      catalog,
      views: teamViews,
      ownerOf: (service) => owners.ownerOf(service),
      reconciler: reconcilerLag,
      replicas: () => supervisor.list().map((group) => ({ release: group.release, replicas: group.replicas() })),
    });
    // Previews: GitHub deliveries recorded by the route; the worker starts with the life cycle's handler.
    const webhooks = composeWebhooks({ store, clock, config: loaded.config.previews, log });
    lifecycle.register('webhook deliveries', () => webhooks.worker.stop(), { timeoutMs: 30_000 });
    const previewApi = composePreviewApi({ store, gate, audit, clock, config: loaded.config.previews, webhooks, log });
    lifecycle.register('preview reports', () => previewApi.reports.stop());
    const services: Services = {
      store,
      audit,
      directory,
      gate,
      tokens,
      catalog,
      secrets,
      access,
      environments,
      reaper,
      deployments: { service: deployments, releases },
      observability: { prometheus, targets: scrapeTargets },
      observabilityQuery,
      dashboards,
      metrics,
      scrapeToken: ensureScrapeToken(dataDir),
      logs,
      templates,
      webhooks: webhooks.routes,
      previews: previewApi.queries,
      traces: traces.service({
        readable: (ref) => authz.readable(ref),
        views: teamViews,
        teamOf: (service) => authz.teamOf(service).catch(() => null),
        namespaceOf: async (name) => (await environments.live(name))?.namespace,
        proxySpans: (service, ns) => proxy.spans(service, ns),
        replicaOf: (key, port) => {
          const group = supervisor.list().find((g) => g.release === key);
          const index = group?.replicas().find((replica) => replica.port === port)?.index;
          return index === undefined ? undefined : index + 1;
        },
      }),
      version: readVersion(),
    };
    const app = await buildApp(services, {
      logLevel: opts.logLevel,
      unauthenticated: loaded.config.auth.rateLimit,
      log,
    });
    lifecycle.register('HTTP server', () => app.close());
    await app.listen({ port, host }).catch((err: unknown) => {
      throw listenFailure('control plane', { host, port }, err);
    });
    const address = app.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    const url = `http://${host === '0.0.0.0' || host === '127.0.0.1' ? 'localhost' : host}:${actualPort}`;
    log(`idp control plane listening on ${url}`);
    log(
      `  organization ${loaded.config.organization.name}: ${directory.users.size} users, ${directory.groups.size} teams (config ${loaded.path})`,
    );
    const isGroup = (team: string) => directory.groups.has(`group:default/${team}`);
    for (const w of unknownTeamWarnings(loaded.config.observability.teams, isGroup)) log(w);
    log(`  state store: ${store.dialect} at ${store.location}`);
    log(`  policies: ${engine.policyIds.length} loaded`);
    log(secretsLine(masterKey, notifier.target));
    log(auditLine(auditKey, loaded.config.auth.rateLimit));
    log(storesLine(infra));
    for (const line of baseSync.lines) log(`    base ${line}`);
    if (!infra.postgres || !infra.redis)
      log('    env:create says per resource what is missing until both are configured and reachable');
    access.start();
    log(`  edge proxy: http://<service>.<namespace>.localhost:${deployments.proxyPort}`);
    log(traces.describe());
    for (const line of isolation.describe().lines) log(line);
    // After the HTTP server listens: job idp scrapes the control plane at its real port.
    lifecycle.register('Prometheus', () => prometheus.stop(), { timeoutMs: 10_000 });
    await prometheus.start(`${host === '0.0.0.0' ? '127.0.0.1' : host}:${actualPort}`);
    await scrapeTargets.updateAll();
    // Previews: the life cycle handles the recorded deliveries (resuming what a stop left unfinished).
    const previewLife = composePreviewLifecycle({
      store,
      config: loaded.config.previews,
      directory,
      tokens,
      catalog,
      environments,
      deployments,
      releases,
      notify: (repo, number) => previewApi.reports.notify(repo, number),
      log,
    });
    lifecycle.register('preview runner', () => previewLife.stop());
    await webhooks.worker.start(previewLife.lifecycle);
    const resumed = await environments.resume();
    if (resumed) log(`  environments: resumed ${resumed} unfinished operation${resumed === 1 ? '' : 's'}`);
    const resumedTasks = await templates.start({ timer: opts.environmentTimers ?? true });
    if (resumedTasks) log(`  templates: resumed ${resumedTasks} unfinished task${resumedTasks === 1 ? '' : 's'}`);
    if (opts.environmentTimers ?? true) {
      lifecycle.register('environment reaper', () => reaper.stop());
      reaper.start();
      // Not at start-up: the first env:create takes the first snapshot, so a start costs no pg_dump.
      const snapshots = new PeriodicTask({
        name: 'snapshot refresh',
        everyMs: parseDuration(envSettings.snapshotRefresh, 'environments.snapshotRefresh') * 1000,
        run: () => refreshSnapshots(environments, log),
        log,
      });
      lifecycle.register('snapshot refresh', () => snapshots.stop());
      snapshots.start();
    }
    log(adminTokenLine(admin, url));
    return {
      url,
      port: actualPort,
      dataDir,
      adminTokenSource: admin.source,
      services,
      otlpEndpoint: traces.receiver.endpoint,
      async close() {
        // Idempotent; a stop that fails or hangs is logged and the others still run.
        await lifecycle.stopAll();
      },
    };
  } catch (err) {
    // Whatever started before the failure (store, timers, replicas, the edge proxy) stops again.
    await lifecycle.stopAll();
    throw err;
  }
}

function environmentInfra(loaded: LoadedConfig, opts: StartOptions, env: NodeJS.ProcessEnv): EnvironmentInfra {
  const { postgres, redis } = storeUrls(loaded, opts, env);
  return {
    postgres: postgres.url ? new PostgresProvider(postgres.url) : null,
    redis: redis.url ? new RedisProvider(redis.url) : null,
    postgresSource: postgres.source,
    redisSource: redis.source,
  };
}

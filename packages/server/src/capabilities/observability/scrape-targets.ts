// The workloads' scrape targets: one file_sd file per namespace (<data-dir>/prometheus/targets/<namespace>.json),
// rewritten atomically whenever a replica starts, stops or moves, removed with the environment.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReplicaInfo, SupervisorEvent } from '@idp/runtime-local';
import { targetsDir } from './prometheus-config.ts';

/** What deploy.yaml's `metrics:` says (port null: the replica's PORT). */
export interface MetricsEndpoint {
  path: string;
  port: number | null;
}

/** What the platform knows about a running release: the labels it stamps, and where its metrics are. */
export interface WorkloadFacts {
  team: string;
  env: string;
  metrics: MetricsEndpoint | null;
}

/** One release as the supervisor runs it. */
export interface RunningRelease {
  /** `<namespace>/<service>@<version>` (deployments' releaseKey). */
  release: string;
  replicas: ReplicaInfo[];
}

/** One file_sd target group, as Prometheus reads it. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export interface ScrapeTargetsDeps {
  /** <data-dir>/prometheus. */
  dir: string;
  /** The releases the supervisor runs now. */
  running(): RunningRelease[];
  /** The labels and metrics endpoint of a release; null when it is unknown (then it is not scraped). */
  facts(namespace: string, service: string, version: string): Promise<WorkloadFacts | null>;
  log(line: string): void;
}

/** `ns/service@version` → its parts; undefined for a key of another shape. */
export function parseReleaseKey(key: string): { namespace: string; service: string; version: string } | undefined {
  const slash = key.indexOf('/');
  const at = key.indexOf('@', slash + 1);
  if (slash <= 0 || at <= slash + 1 || at === key.length - 1) return undefined;
  return { namespace: key.slice(0, slash), service: key.slice(slash + 1, at), version: key.slice(at + 1) };
}

/**
 * The target group of one release. Replicas share the host's network, so each is reached on
 * 127.0.0.1: at its own PORT, or at the declared port (which only one process can hold, so it
 * appears once).
 */
export function targetGroup(
  release: RunningRelease,
  facts: WorkloadFacts & { metrics: MetricsEndpoint },
): TargetGroup | undefined {
  const key = parseReleaseKey(release.release);
  if (!key) return undefined;
  const live = release.replicas.filter((r) => r.status !== 'stopped');
  const ports = live.map((r) => facts.metrics.port ?? r.port);
  const targets = [...new Set(ports)].map((port) => `127.0.0.1:${port}`);
  if (targets.length === 0) return undefined;
  return {
    targets,
    labels: {
      team: facts.team,
      service: key.service,
      env: facts.env,
      namespace: key.namespace,
      release: key.version,
      __metrics_path__: facts.metrics.path,
    },
  };
}

/** Writes `content` to `path` through a temporary file and a rename, so Prometheus never reads half a file. */
export function writeAtomically(path: string, content: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: 0o644 });
  renameSync(temp, path);
}

export class ScrapeTargets {
  /** One write at a time per namespace, in the order asked. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly deps: ScrapeTargetsDeps) {}

  get dir(): string {
    return targetsDir(this.deps.dir);
  }

  /**
   * The supervisor's listener: any change of a replica rewrites its namespace's file. `ready` too:
   * a release's first `started` events come before the supervisor lists it.
   */
  onSupervisorEvent(event: SupervisorEvent): void {
    if (event.type === 'crash-loop') return;
    const key = parseReleaseKey(event.release);
    if (key) void this.update(key.namespace);
  }

  /** Rewrites the file of one namespace from what runs now. */
  update(namespace: string): Promise<void> {
    return this.serialize(namespace, async () => {
      const groups: TargetGroup[] = [];
      for (const release of this.deps.running()) {
        const key = parseReleaseKey(release.release);
        if (key?.namespace !== namespace) continue;
        const facts = await this.deps.facts(key.namespace, key.service, key.version);
        if (!facts?.metrics) continue;
        const group = targetGroup(release, { ...facts, metrics: facts.metrics });
        if (group) groups.push(group);
      }
      const path = this.fileOf(namespace);
      if (groups.length === 0) rmSync(path, { force: true });
      else {
        mkdirSync(this.dir, { recursive: true });
        writeAtomically(path, `${JSON.stringify(groups, null, 2)}\n`);
      }
    });
  }

  /** Every namespace with running releases, and no file left for a namespace without any. */
  async updateAll(): Promise<void> {
    const namespaces = new Set(
      this.deps.running().flatMap((r) => {
        const key = parseReleaseKey(r.release);
        return key ? [key.namespace] : [];
      }),
    );
    let existing: string[] = [];
    try {
      existing = readdirSync(this.dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -'.json'.length));
    } catch {
      /* no folder yet */
    }
    await Promise.all([...new Set([...namespaces, ...existing])].map((ns) => this.update(ns)));
  }

  /** The environment is gone: its targets too. */
  remove(namespace: string): Promise<void> {
    return this.serialize(namespace, () => {
      rmSync(this.fileOf(namespace), { force: true });
      return Promise.resolve();
    });
  }

  /** How many targets the files name. */
  count(): number {
    let total = 0;
    try {
      for (const file of readdirSync(this.dir).filter((f) => f.endsWith('.json'))) {
        total += this.read(join(this.dir, file)).reduce((sum, g) => sum + g.targets.length, 0);
      }
    } catch {
      /* no folder yet */
    }
    return total;
  }

  fileOf(namespace: string): string {
    return join(this.dir, `${namespace}.json`);
  }

  private read(path: string): TargetGroup[] {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as TargetGroup[];
    } catch {
      return [];
    }
  }

  private serialize(namespace: string, work: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(namespace) ?? Promise.resolve())
      .then(work)
      .catch((err: Error) =>
        this.deps.log(`observability: scrape targets of ${namespace} not written: ${err.message}`),
      );
    this.chains.set(namespace, next);
    void next.then(() => {
      if (this.chains.get(namespace) === next) this.chains.delete(namespace);
    });
    return next;
  }
}

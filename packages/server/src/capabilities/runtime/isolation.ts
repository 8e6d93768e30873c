import { chmod, chown, lstat, mkdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { IdpError } from '@idp/contracts';
import { findBwrap, runBuild, Sandbox, SANDBOX_SCRATCH, type BuildResult, type SandboxSpec } from '@idp/runtime-local';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import { seedNpmCache } from './npm-cache.ts';
import { chownTree, sealTree } from './tree.ts';
import { RuntimeUsers } from './users.ts';

export type IsolationMode = 'sandbox' | 'none';

export interface IsolationOptions {
  mode: IsolationMode;
  dataDir: string;
  db: Kysely<Database>;
  clock: Clock;
  /** Where a namespace's files live (environments own the folder). */
  namespaceDir: (namespace: string) => string;
  /** IDP_BWRAP_PATH; default `bwrap` on PATH, else /usr/bin/bwrap. */
  bwrapPath?: string;
  /** runtime.buildCacheSeed; default the control plane's npm cache. */
  buildCacheSeed?: string;
}

export interface BuildRequest {
  team: string;
  dir: string;
  /** Absent: nothing runs, but the release is still sealed for its replicas. */
  command?: string;
  timeoutMs: number;
  outputTail: number;
}

/**
 * Where builds and replicas run (issue 10, isolation). With `runtime.isolation: sandbox` (the
 * default) each build runs as its team's build user and each replica as its namespace's user,
 * in a bubblewrap sandbox (runtime-local/sandbox.ts) that sees its release, its scratch space
 * and the network, and nothing of the control plane. When a sandbox cannot be started here, the
 * control plane still serves everything else but refuses builds and workloads with
 * RUNTIME_ISOLATION_UNAVAILABLE; only `isolation: none` runs them unisolated.
 */
export class RuntimeIsolation {
  readonly users: RuntimeUsers;
  private constructor(
    private readonly options: IsolationOptions,
    readonly sandbox: Sandbox | null,
    /** Why a sandbox cannot start here (mode sandbox only); null when it can. */
    readonly problem: string | null,
  ) {
    this.users = new RuntimeUsers(options.db, options.clock);
  }

  static async start(options: IsolationOptions): Promise<RuntimeIsolation> {
    if (options.mode === 'none') return new RuntimeIsolation(options, null, null);
    const stateDir = join(options.dataDir, 'sandbox');
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const sandbox = new Sandbox({ bwrap: options.bwrapPath || findBwrap(), stateDir });
    const probe = await sandbox.probe();
    return probe.ok
      ? new RuntimeIsolation(options, sandbox, null)
      : new RuntimeIsolation(options, null, probe.problem ?? 'the sandbox does not start');
  }

  get mode(): IsolationMode {
    return this.options.mode;
  }

  /** Start-up lines: what isolates workloads, or a loud warning of what does not. */
  describe(): { ok: boolean; lines: string[] } {
    if (this.options.mode === 'none') {
      return {
        ok: false,
        lines: [
          "WARNING: runtime.isolation is none: builds and workloads run as the control plane's own user and can read its data dir",
          "         (idp.sqlite, master.key, admin-token), its environment and every other workload's secrets. Use it only on a trusted single-user machine.",
        ],
      };
    }
    if (this.problem !== null) {
      return {
        ok: false,
        lines: [
          `WARNING: workload isolation is unavailable: ${this.problem}.`,
          '         Builds and deployments are refused (RUNTIME_ISOLATION_UNAVAILABLE) until it works: apt-get install -y bubblewrap, run the',
          '         control plane as root (or set IDP_BWRAP_PATH), and restart. runtime.isolation: none runs them unisolated (not recommended).',
        ],
      };
    }
    return {
      ok: true,
      lines: [
        `  isolation: builds and replicas run in bubblewrap sandboxes (${this.sandbox!.bwrap}) as per-team and per-namespace users from uid 200000`,
      ],
    };
  }

  /** Throws RUNTIME_ISOLATION_UNAVAILABLE when workloads must be sandboxed and cannot be. */
  assertUsable(what: string): void {
    if (this.options.mode === 'sandbox' && this.problem !== null) {
      throw new IdpError(
        'RUNTIME_ISOLATION_UNAVAILABLE',
        `cannot ${what}: builds and workloads run only in a sandbox, and ${this.problem}`,
        {
          problem: this.problem,
          setting: 'runtime.isolation',
          hint: 'Install bubblewrap (apt-get install -y bubblewrap), run the control plane as root or set IDP_BWRAP_PATH, and restart it.',
        },
      );
    }
  }

  /** The sandbox a replica of `service` in `namespace` runs in; undefined with isolation none. */
  async replica(
    namespace: string,
    service: string,
    releaseDir: string,
  ): Promise<{ sandbox: Sandbox; spec: SandboxSpec } | undefined> {
    this.assertUsable(`run ${service} in ${namespace}`);
    if (!this.sandbox) return undefined;
    const uid = await this.users.uidOf('namespace', namespace);
    const scratch = join(this.scratchRoot(namespace), service);
    await ownedDir(this.scratchRoot(namespace), uid);
    await ownedDir(scratch, uid);
    await ownedDir(join(scratch, 'tmp'), uid);
    return {
      sandbox: this.sandbox,
      spec: { uid, gid: uid, user: 'app', appDir: releaseDir, appWritable: false, scratchDir: scratch },
    };
  }

  /**
   * Runs a release's build command (as the team's build user with the release writable and a
   * per-team HOME and npm cache; no secrets), then seals the release: owned by root, not
   * writable by anyone else, readable by its replicas.
   */
  async build(req: BuildRequest): Promise<BuildResult | null> {
    this.assertUsable(`build a release of team ${req.team}`);
    if (!this.sandbox) {
      if (!req.command) return null;
      const home = process.env.HOME ?? req.dir;
      return runBuild({
        command: req.command,
        cwd: req.dir,
        timeoutMs: req.timeoutMs,
        outputTail: req.outputTail,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          npm_config_cache: process.env.npm_config_cache ?? join(home, '.npm'),
          npm_config_update_notifier: 'false',
        },
      });
    }
    try {
      if (!req.command) return null;
      const uid = await this.users.uidOf('build', req.team);
      const home = await this.buildHome(req.team, uid);
      await chownTree(req.dir, uid, uid);
      return await runBuild({
        command: req.command,
        cwd: req.dir,
        timeoutMs: req.timeoutMs,
        outputTail: req.outputTail,
        env: { npm_config_cache: `${SANDBOX_SCRATCH}/.npm` },
        sandbox: {
          sandbox: this.sandbox,
          spec: { uid, gid: uid, user: 'build', appDir: req.dir, appWritable: true, scratchDir: home },
        },
      });
    } finally {
      await sealTree(req.dir);
    }
  }

  /** A new namespace gets its user and its scratch folder (the user's, 0700) at once. */
  async onNamespaceCreate(namespace: string): Promise<void> {
    if (!this.sandbox) return;
    await ownedDir(this.scratchRoot(namespace), await this.users.uidOf('namespace', namespace));
  }

  /** After its replicas stopped: the namespace's user is removed (its uid is never reused). */
  async onNamespaceDelete(namespace: string): Promise<void> {
    await this.users.remove('namespace', namespace);
  }

  private scratchRoot(namespace: string): string {
    return join(this.options.namespaceDir(namespace), 'scratch');
  }

  /** `<data-dir>/build/<team>`: the team's builds' HOME and npm cache, started from the seed once. */
  private async buildHome(team: string, uid: number): Promise<string> {
    const home = join(this.options.dataDir, 'build', team);
    const fresh = !(await exists(home));
    await mkdir(join(this.options.dataDir, 'build'), { recursive: true, mode: 0o700 });
    await ownedDir(home, uid);
    await ownedDir(join(home, 'tmp'), uid);
    if (fresh) {
      const seed = this.options.buildCacheSeed ?? process.env.npm_config_cache ?? join(homedir(), '.npm');
      await seedNpmCache(seed, join(home, '.npm'), uid, uid);
    }
    return home;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A directory owned by uid with mode 0700 (made when missing; fixed when it is not). Never follows a symlink. */
async function ownedDir(path: string, uid: number): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  const st = await lstat(path);
  if (!st.isDirectory()) throw new Error(`${path} is not a directory`);
  if (st.uid !== uid || st.gid !== uid) await chown(path, uid, uid);
  if ((st.mode & 0o777) !== 0o700) await chmod(path, 0o700);
}

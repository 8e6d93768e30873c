// The workload sandbox: a build or a replica runs under Debian's bubblewrap as an unprivileged
// uid, seeing the system's programs and libraries read-only, its own directory (/app), its own
// scratch space (/scratch, also HOME and /tmp), a fresh /proc of its own PID namespace, a
// minimal /dev and the network. Nothing of the control plane is mounted: not the data dir, not
// other namespaces or releases, not the logs (stdout and stderr are file descriptors the
// supervisor opened), and no other process is visible.
//
// bwrap runs as root (it needs CAP_SYS_ADMIN for the mounts, which root has without user
// namespaces) and execs setpriv, which switches to the uid/gid, clears supplementary groups,
// drops every capability and sets no_new_privs before the command starts. bwrap stays as
// PID 1 of the sandbox's PID namespace (root: the workload cannot signal it or read its
// /proc entries). The environment is inherited through execve, so secrets never appear on a
// command line; /proc/<pid>/environ is readable by the same uid and root only, and no other
// sandbox can see the pid.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where each sandbox sees its directories. */
export const SANDBOX_APP = '/app';
export const SANDBOX_SCRATCH = '/scratch';

/** System directories mounted read-only (or re-created as the same symlink for merged /usr). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/**
 * The part of /etc a program needs to resolve names, speak TLS and know the time; /etc/passwd
 * and /etc/group are written per uid (they list root, nobody and the sandbox's own user).
 */
const ETC_FILES = [
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/nsswitch.conf',
  '/etc/gai.conf',
  '/etc/services',
  '/etc/protocols',
  '/etc/localtime',
  '/etc/ssl/openssl.cnf',
  '/etc/ssl/certs',
  '/etc/ca-certificates',
  '/etc/ca-certificates.conf',
  '/etc/pki',
];
const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface SandboxSpec {
  uid: number;
  gid: number;
  /** The user's name inside the sandbox (/etc/passwd). */
  user: string;
  /** Mounted at /app, the working directory: the release. */
  appDir: string;
  /** Builds write their release (node_modules, …); replicas never do. */
  appWritable: boolean;
  /** Mounted read-write at /scratch (HOME); its `tmp` at /tmp. Owned by uid, mode 0700. */
  scratchDir: string;
}

export interface SandboxOptions {
  /** The bwrap binary (IDP_BWRAP_PATH), default `bwrap` from PATH or /usr/bin/bwrap. */
  bwrap: string;
  /** setpriv (util-linux), run inside the sandbox: must live under a mounted system dir. */
  setpriv?: string;
  /** A root-owned directory for the generated /etc/passwd and /etc/group files. */
  stateDir: string;
}

export interface SandboxProbe {
  ok: boolean;
  /** What is missing, for the start-up warning and the error's details. */
  problem?: string;
}

/** `bwrap` from PATH, else Debian's /usr/bin/bwrap. */
export function findBwrap(path = process.env.PATH ?? ''): string {
  for (const dir of path.split(':')) {
    if (!dir) continue;
    const candidate = join(dir, 'bwrap');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return '/usr/bin/bwrap';
}

export class Sandbox {
  readonly bwrap: string;
  readonly setpriv: string;
  private readonly stateDir: string;
  private readonly systemArgs: string[];
  private readonly path: string;

  constructor(options: SandboxOptions) {
    this.bwrap = options.bwrap;
    this.setpriv = options.setpriv ?? '/usr/bin/setpriv';
    this.stateDir = options.stateDir;
    const { args, nodePrefix } = systemMounts();
    this.systemArgs = args;
    this.path = nodePrefix ? `${nodePrefix}/bin:${SAFE_PATH}` : SAFE_PATH;
  }

  /**
   * The argv that runs `/bin/sh -c command` in the sandbox (bwrap first). Pass `env` to the
   * spawn: it reaches the command through execve, never through argv.
   */
  command(
    spec: SandboxSpec,
    command: string,
    options: { dieWithParent?: boolean } = {},
  ): { file: string; args: string[] } {
    assertId(spec.uid, 'uid');
    assertId(spec.gid, 'gid');
    const etc = this.identityFiles(spec);
    const args = [
      ...this.systemArgs,
      '--ro-bind',
      join(etc, 'passwd'),
      '/etc/passwd',
      '--ro-bind',
      join(etc, 'group'),
      '/etc/group',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup-try',
      '--hostname',
      'sandbox',
      // Builds end with the control plane; replicas must outlive its restarts (never for them).
      ...(options.dieWithParent ? ['--die-with-parent'] : []),
      spec.appWritable ? '--bind' : '--ro-bind',
      spec.appDir,
      SANDBOX_APP,
      '--bind',
      spec.scratchDir,
      SANDBOX_SCRATCH,
      '--bind',
      join(spec.scratchDir, 'tmp'),
      '/tmp',
      '--chdir',
      SANDBOX_APP,
      '--',
      this.setpriv,
      `--reuid=${spec.uid}`,
      `--regid=${spec.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      '/bin/sh',
      '-c',
      command,
    ];
    return { file: this.bwrap, args };
  }

  /** The variables a sandboxed command gets besides its own: where it lives, with a PATH of mounted dirs. */
  baseEnv(spec: SandboxSpec): Record<string, string> {
    return {
      PATH: this.path,
      HOME: SANDBOX_SCRATCH,
      TMPDIR: '/tmp',
      USER: spec.user,
      LOGNAME: spec.user,
      LANG: process.env.LANG ?? 'C.UTF-8',
      // npm (an inferred `npm start`, `npm ci`) would otherwise ask the registry for a newer npm.
      npm_config_update_notifier: 'false',
    };
  }

  /** Can this process start a sandbox and switch to another uid? Runs a real one (nobody, /bin/true). */
  async probe(): Promise<SandboxProbe> {
    if (!existsSync(this.bwrap)) return { ok: false, problem: `bubblewrap is not installed (${this.bwrap} not found)` };
    if (!existsSync(this.setpriv))
      return { ok: false, problem: `setpriv (util-linux) is not installed (${this.setpriv} not found)` };
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      return {
        ok: false,
        problem: `the control plane runs as uid ${process.getuid()}, not root: it cannot switch workloads to their own users`,
      };
    }
    const scratch = join(this.stateDir, 'probe');
    mkdirSync(join(scratch, 'tmp'), { recursive: true, mode: 0o700 });
    const spec: SandboxSpec = {
      uid: 65534,
      gid: 65534,
      user: 'nobody',
      appDir: scratch,
      appWritable: false,
      scratchDir: scratch,
    };
    const { file, args } = this.command(
      spec,
      'test "$(id -u)" = 65534 && test ! -e /proc/1/environ -o ! -r /proc/1/environ',
    );
    return new Promise((resolve) => {
      execFile(file, args, { env: this.baseEnv(spec), timeout: 10_000 }, (err, _stdout, stderr) => {
        if (!err) return resolve({ ok: true });
        const why = (stderr || err.message).trim().split('\n')[0];
        resolve({ ok: false, problem: `${this.bwrap} cannot start a sandbox as another user: ${why}` });
      });
    });
  }

  /** /etc/passwd and /etc/group for one uid, written once into the state dir (root-owned, world-readable). */
  private identityFiles(spec: SandboxSpec): string {
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(spec.user))
      throw new RangeError(`sandbox user name "${spec.user}" is not a valid login name`);
    const dir = join(this.stateDir, 'etc', `${spec.uid}-${spec.gid}-${spec.user}`);
    if (!existsSync(join(dir, 'group'))) {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      writeFileSync(
        join(dir, 'passwd'),
        `root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n${spec.user}:x:${spec.uid}:${spec.gid}:${spec.user}:${SANDBOX_SCRATCH}:/bin/sh\n`,
        { mode: 0o644 },
      );
      writeFileSync(join(dir, 'group'), `root:x:0:\nnogroup:x:65534:\n${spec.user}:x:${spec.gid}:\n`, { mode: 0o644 });
    }
    return dir;
  }
}

function assertId(id: number, what: string): void {
  if (!Number.isInteger(id) || id <= 0 || id >= 2 ** 31)
    throw new RangeError(`sandbox ${what} must be a positive integer, not ${id}`);
}

/** Read-only system dirs as they exist here (merged-/usr symlinks re-created), then the /etc subset. */
function systemMounts(): { args: string[]; nodePrefix: string | null } {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    let stat;
    try {
      stat = lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (stat.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  // Node installed outside /usr (e.g. /opt/node): its prefix, read-only.
  const prefix = dirname(dirname(process.execPath));
  const outside = prefix !== '/' && !SYSTEM_DIRS.some((dir) => prefix === dir || prefix.startsWith(`${dir}/`));
  if (outside) args.push('--ro-bind', prefix, prefix);
  // Parents bwrap would otherwise create as root-only 0700.
  args.push('--perms', '0755', '--dir', '/etc', '--perms', '0755', '--dir', '/etc/ssl');
  for (const file of ETC_FILES) if (existsSync(file)) args.push('--ro-bind', file, file);
  return { args, nodePrefix: outside ? prefix : null };
}

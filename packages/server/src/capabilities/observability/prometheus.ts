// The Prometheus idp stores and queries metrics in: an existing one (observability.prometheus.url),
// or one it runs itself as a child process (observability.prometheus.binary), restarted with
// backoff when it exits and stopped with the control plane. Without either, idp still starts.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { backoffDelay, findFreePort, probeTcp, type BackoffOptions } from '@idp/runtime-local';
import type { ObservabilityConfig } from '../../config/index.ts';
import { prometheusConfigYaml, targetsDir } from './prometheus-config.ts';
import { ensureScrapeToken, prometheusDir, scrapeTokenPath } from './scrape-token.ts';

export type PrometheusMode = 'managed' | 'external' | 'missing' | 'disabled';

export interface PrometheusStatus {
  mode: PrometheusMode;
  /** Where it answers; null when missing or not started yet. */
  url: string | null;
  /** The managed one answered /-/ready (an external one: unknown until asked, so null). */
  ready: boolean | null;
  pid: number | null;
  restarts: number;
  /** Why it is not running, in words, when it is not. */
  problem: string | null;
}

export interface PrometheusServiceOptions {
  settings: ObservabilityConfig['prometheus'];
  dataDir: string;
  log(line: string): void;
  /** Bound of the wait for /-/ready after a start. Default 60 s. */
  readyTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace on stop. Default 5 s. */
  stopGraceMs?: number;
  backoff?: BackoffOptions;
  /** Where `prometheus` is looked for when the binary has no slash. Default PATH, then /usr/bin. */
  searchPath?: string;
}

/**
 * The shell that leads Prometheus's process group: it runs Prometheus ("$@"), passes a TERM on,
 * exits with Prometheus's status once it is gone, and stops it when its stdin (a pipe from the
 * control plane) closes, so a control plane killed with SIGKILL leaves no Prometheus behind.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'pid=$!',
  "trap 'kill -TERM $pid 2>/dev/null' TERM INT",
  '( read -r _ <&3; kill -TERM $pid 2>/dev/null ) </dev/null &',
  'watcher=$!',
  'exec 3<&-',
  'code=0',
  'while :; do wait $pid; code=$?; kill -0 $pid 2>/dev/null || break; done',
  // Reaped here, not left to init: when this shell exits, nothing of its group is left.
  'kill -KILL $watcher 2>/dev/null; wait $watcher 2>/dev/null',
  'exit $code',
].join('\n');

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

/** The binary as an executable path, or null when it is not installed. */
export function findPrometheusBinary(binary: string, searchPath = process.env.PATH ?? ''): string | null {
  const candidates = binary.includes('/')
    ? [binary]
    : [...searchPath.split(delimiter).filter(Boolean), '/usr/bin'].map((dir) => join(dir, binary));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class PrometheusService {
  readonly mode: PrometheusMode;
  private readonly binary: string | null;
  private readonly dir: string;
  private child: ChildProcess | undefined;
  private address: string | undefined;
  private isReady = false;
  private stopping = false;
  private restarts = 0;
  private failures = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private problem: string | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly opts: PrometheusServiceOptions) {
    this.dir = prometheusDir(opts.dataDir);
    const { url, binary, enabled } = opts.settings;
    this.binary = !enabled || url ? null : findPrometheusBinary(binary, opts.searchPath);
    this.mode = !enabled ? 'disabled' : url ? 'external' : this.binary ? 'managed' : 'missing';
    if (this.mode === 'missing') {
      this.problem = `Prometheus not found (observability.prometheus.binary=${binary})`;
    } else if (this.mode === 'disabled') {
      this.problem = 'metrics storage is turned off (observability.prometheus.enabled: false)';
    }
  }

  /** The URL queries go to (external, or the managed one once it runs); null without a Prometheus. */
  get prometheusUrl(): string | null {
    if (this.mode === 'external') return this.opts.settings.url!.replace(/\/+$/, '');
    return this.mode === 'managed' && this.address ? `http://${this.address}` : null;
  }

  url(): string | null {
    return this.prometheusUrl;
  }

  /** The file_sd folder (<data-dir>/prometheus/targets), written whatever the mode. */
  get targetsDir(): string {
    return targetsDir(this.dir);
  }

  status(): PrometheusStatus {
    return {
      mode: this.mode,
      url: this.prometheusUrl,
      ready: this.mode === 'managed' ? this.isReady : null,
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      problem: this.problem,
    };
  }

  /**
   * With the control plane listening at `controlPlane` (host:port): writes prometheus.yml and
   * starts the managed Prometheus (not waiting for it to be ready: `ready()` does), or says in
   * one line what is missing.
   */
  async start(controlPlane: string): Promise<void> {
    const { settings, log } = this.opts;
    mkdirSync(this.targetsDir, { recursive: true });
    switch (this.mode) {
      case 'external':
        log(
          `  observability: Prometheus at ${this.prometheusUrl} (observability.prometheus.url); scrape targets in ${this.targetsDir}`,
        );
        return;
      case 'disabled':
        log('  observability: metrics storage is off (observability.prometheus.enabled: false)');
        return;
      case 'missing':
        log(
          `observability: Prometheus not found (observability.prometheus.binary=${settings.binary}); metrics queries answer 503 until it is installed: apt-get install -y prometheus, or set observability.prometheus.url`,
        );
        return;
      case 'managed':
        break;
    }
    ensureScrapeToken(this.opts.dataDir);
    writeFileSync(
      join(this.dir, 'prometheus.yml'),
      prometheusConfigYaml({
        scrapeInterval: settings.scrapeInterval,
        controlPlane,
        scrapeTokenFile: scrapeTokenPath(this.opts.dataDir),
        dir: this.dir,
      }),
      { mode: 0o600 },
    );
    const [host, port] = splitListen(settings.listen);
    if (port !== 0 && (await probeTcp(host, port, 500)).ok) {
      // Not "managed": whatever listens there is not ours, so its data must not answer our queries.
      this.fail(
        `${settings.listen} is in use (another Prometheus?); set observability.prometheus.listen, port 0 picks a free one`,
      );
      return;
    }
    this.address = `${host}:${port === 0 ? await findFreePort() : port}`;
    this.launch();
  }

  /** Resolves true once /-/ready answers 200 (false after the bound, with progress in the log). */
  async ready(timeoutMs = this.opts.readyTimeoutMs ?? 60_000): Promise<boolean> {
    if (this.mode !== 'managed') return false;
    const began = Date.now();
    let nextNote = began + 5000;
    while (Date.now() - began < timeoutMs && !this.stopping && this.problem === null) {
      if (await this.answersReady()) {
        if (!this.isReady)
          this.opts.log(
            `  observability: Prometheus ready at ${this.prometheusUrl} in ${Date.now() - this.startedAt} ms`,
          );
        this.isReady = true;
        return true;
      }
      if (Date.now() >= nextNote) {
        this.opts.log(
          `observability: still waiting for Prometheus at ${this.prometheusUrl} to be ready (${Math.round((Date.now() - began) / 1000)} s; see ${join(this.dir, 'prometheus.log')})`,
        );
        nextNote += 5000;
      }
      await sleep(100);
    }
    if (!this.isReady && !this.stopping) {
      this.opts.log(
        `observability: Prometheus at ${this.prometheusUrl} not ready after ${Math.round(timeoutMs / 1000)} s; see ${join(this.dir, 'prometheus.log')}`,
      );
    }
    return this.isReady;
  }

  /** SIGTERM to its process group, SIGKILL after the grace; resolves when it is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    signalGroup(child.pid, 'SIGTERM');
    const grace = this.opts.stopGraceMs ?? 5000;
    const killer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), grace);
    try {
      await Promise.race([this.exited, sleep(grace + 2000)]);
    } finally {
      clearTimeout(killer);
    }
  }

  private launch(): void {
    if (this.stopping || !this.binary || !this.address) return;
    const { settings } = this.opts;
    const logFile = join(this.dir, 'prometheus.log');
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        '/bin/sh',
        [
          '-c',
          WATCHDOG,
          'prometheus',
          this.binary,
          `--config.file=${join(this.dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(this.dir, 'data')}`,
          `--storage.tsdb.retention.time=${settings.retention}`,
          `--web.listen-address=${this.address}`,
        ],
        // Its own process group, so a stop reaches everything it started; no secrets in its environment.
        {
          cwd: this.dir,
          detached: true,
          stdio: ['pipe', fd, fd],
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        },
      );
      // Never written to: it closes when the control plane's process ends, however it ends.
      (child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.isReady = false;
    this.startedAt = Date.now();
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', (err) => {
      if (child.pid === undefined) this.fail(`Prometheus could not start: ${err.message}`);
    });
    child.once('exit', (code, signal) => this.onExit(code, signal));
    if (child.pid === undefined) return;
    this.opts.log(`  observability: Prometheus starting at http://${this.address} (pid ${child.pid}, log ${logFile})`);
    void this.ready();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.isReady = false;
    if (this.stopping || this.problem !== null) return;
    const uptime = Date.now() - this.startedAt;
    const backoff = this.opts.backoff ?? DEFAULT_BACKOFF;
    this.failures = uptime >= backoff.resetAfterMs ? 1 : this.failures + 1;
    const delayMs = backoffDelay(this.failures, backoff);
    this.opts.log(
      `observability: Prometheus exited (${signal ?? `code ${code}`}) after ${Math.round(uptime / 1000)} s; restarting in ${delayMs} ms (log ${join(this.dir, 'prometheus.log')})`,
    );
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.launch();
    }, delayMs);
    this.restartTimer.unref();
  }

  private fail(problem: string): void {
    this.problem = problem;
    this.opts.log(`observability: ${problem}`);
  }

  private async answersReady(): Promise<boolean> {
    try {
      const res = await fetch(`${this.prometheusUrl}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }
}

function splitListen(listen: string): [string, number] {
  const colon = listen.lastIndexOf(':');
  return [listen.slice(0, colon), Number(listen.slice(colon + 1))];
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

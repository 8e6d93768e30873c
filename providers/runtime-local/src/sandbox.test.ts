import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuild } from './build.ts';
import { isGroupAlive, isProcessAlive, killRecorded } from './process-group.ts';
import { Sandbox, type SandboxSpec } from './sandbox.ts';
import { ReleaseProcesses } from './supervisor.ts';
import { httpRequest, tempDir, type TempDir } from './test-helpers.ts';

// The sandbox with the real bubblewrap (the CI installs it and runs as root): a replica runs as
// its uid in its own PID namespace, sees only /app, /scratch and the system, stops with its
// process group, and a build writes its release and nothing else.

const REPORT = `
const http = require('node:http');
const fs = require('node:fs');
const can = (fn) => { try { fn(); return true; } catch { return false; } };
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), cwd: process.cwd(), home: process.env.HOME,
    secret: process.env.SECRET, pids: fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).map(Number),
    root: fs.readdirSync('/').sort(), writeApp: can(() => fs.writeFileSync('/app/x', 'x')), writeScratch: can(() => fs.writeFileSync('/scratch/x', 'x')),
    writeTmp: can(() => fs.writeFileSync('/tmp/x', 'x')), seesOutside: can(() => fs.statSync(${JSON.stringify('OUTSIDE')})),
    initEnviron: can(() => fs.readFileSync('/proc/1/environ')),
  }));
}).listen(Number(process.env.PORT));
process.on('SIGTERM', () => process.exit(0));
`;

const isRoot = process.getuid?.() === 0;

describe.runIf(isRoot && existsSync('/usr/bin/bwrap'))('Sandbox (bubblewrap as root, setpriv to the uid)', () => {
  let tmp: TempDir;
  let sandbox: Sandbox;
  let app: string;
  let scratch: string;
  let spec: SandboxSpec;

  beforeAll(async () => {
    tmp = tempDir('idp-sandbox-');
    chmodSync(tmp.dir, 0o700);
    app = join(tmp.dir, 'release');
    scratch = join(tmp.dir, 'scratch');
    mkdirSync(app);
    mkdirSync(join(scratch, 'tmp'), { recursive: true });
    for (const dir of [scratch, join(scratch, 'tmp')]) chownSync(dir, 200_123, 200_123);
    chmodSync(scratch, 0o700);
    writeFileSync(join(app, 'server.cjs'), REPORT.replace('OUTSIDE', tmp.dir));
    writeFileSync(join(tmp.dir, 'control-plane-secret'), 'do not read');
    sandbox = new Sandbox({ bwrap: '/usr/bin/bwrap', stateDir: join(tmp.dir, 'state') });
    spec = { uid: 200_123, gid: 200_123, user: 'app', appDir: app, appWritable: false, scratchDir: scratch };
    expect(await sandbox.probe()).toEqual({ ok: true });
  });
  afterAll(() => tmp.remove());

  it('runs a replica as its uid in its own PID namespace, seeing its release read-only and its scratch space', async () => {
    const group = await ReleaseProcesses.start(
      {
        release: 'svc@v1',
        command: 'node server.cjs',
        cwd: app,
        env: { SECRET: 's3cret' },
        replicas: 1,
        logDir: join(tmp.dir, 'logs'),
        sandbox: { sandbox, spec },
      },
      { stopGraceMs: 2000 },
    );
    try {
      const [replica] = await group.waitReady(10_000);
      const seen = JSON.parse((await httpRequest(replica!.port, 'x')).body);
      expect(seen).toMatchObject({
        uid: 200_123,
        gid: 200_123,
        groups: [200_123],
        cwd: '/app',
        home: '/scratch',
        secret: 's3cret',
      });
      expect(seen).toMatchObject({
        writeApp: false,
        writeScratch: true,
        writeTmp: true,
        seesOutside: false,
        initEnviron: false,
      });
      expect(seen.root).toEqual(expect.arrayContaining(['app', 'dev', 'etc', 'proc', 'scratch', 'tmp', 'usr']));
      expect(seen.root).not.toContain('root');
      expect(seen.root).not.toContain('home');
      expect(Math.max(...seen.pids)).toBeLessThan(20);
      expect(readFileSync(join(scratch, 'x'), 'utf8')).toBe('x');
      // Secrets reach it through execve: not on the sandbox's command line.
      expect(readFileSync(`/proc/${replica!.pid}/cmdline`, 'utf8')).not.toContain('s3cret');
      const recorded = group.recorded();
      expect(recorded).toHaveLength(1);
      await group.stop(2000);
      expect(isGroupAlive(recorded[0]!.pgid)).toBe(false);
    } finally {
      await group.stop(500);
    }
  });

  it('leaves a detached replica running for killRecorded, which stops the whole sandbox', async () => {
    const group = await ReleaseProcesses.start(
      {
        release: 'svc@v2',
        command: 'node server.cjs',
        cwd: app,
        replicas: 1,
        logDir: join(tmp.dir, 'logs2'),
        sandbox: { sandbox, spec },
      },
      { stopGraceMs: 2000 },
    );
    const [replica] = await group.waitReady(10_000);
    const [record] = group.recorded();
    const result = await killRecorded([record!], { graceMs: 2000 });
    expect(result.killed).toEqual([record!.pgid]);
    expect(isProcessAlive(replica!.pid!)).toBe(false);
    expect(isGroupAlive(record!.pgid)).toBe(false);
    await group.stop(500);
  });

  it('builds with the release writable as the build user, with only the variables given', async () => {
    const release = join(tmp.dir, 'build-release');
    const home = join(tmp.dir, 'build-home');
    mkdirSync(release);
    mkdirSync(join(home, 'tmp'), { recursive: true });
    for (const dir of [release, home, join(home, 'tmp')]) chownSync(dir, 200_124, 200_124);
    const result = await runBuild({
      command: `id -u; echo built > out.txt; cat ${join(tmp.dir, 'control-plane-secret')} || echo cannot-read; echo "token=$IDP_ADMIN_TOKEN"`,
      cwd: release,
      env: { npm_config_cache: '/scratch/.npm' },
      timeoutMs: 10_000,
      outputTail: 4000,
      sandbox: {
        sandbox,
        spec: { uid: 200_124, gid: 200_124, user: 'build', appDir: release, appWritable: true, scratchDir: home },
      },
    });
    expect(result.ok).toBe(true);
    expect(result.output).toContain('200124');
    expect(result.output).toContain('cannot-read');
    expect(result.output).not.toContain('do not read');
    expect(result.output).toContain('token=\n');
    expect(readFileSync(join(release, 'out.txt'), 'utf8')).toBe('built\n');
  });
});

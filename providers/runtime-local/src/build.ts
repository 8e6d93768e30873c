// One build command, run to completion: in the sandbox as the team's build user when one is
// given, else as the control plane's user (runtime.isolation: none). Either way it gets only
// the variables passed here: no secrets, nothing of the control plane's environment.
import { spawn } from 'node:child_process';
import type { Sandbox, SandboxSpec } from './sandbox.ts';

export interface BuildRun {
  command: string;
  /** The release directory (sandbox: spec.appDir, mounted at /app). */
  cwd: string;
  env: Record<string, string>;
  sandbox?: { sandbox: Sandbox; spec: SandboxSpec };
  timeoutMs: number;
  /** How much of the output's end to keep. */
  outputTail: number;
}

export interface BuildResult {
  ok: boolean;
  ms: number;
  output: string | null;
}

export function runBuild(run: BuildRun): Promise<BuildResult> {
  const started = performance.now();
  const target = run.sandbox
    ? {
        ...run.sandbox.sandbox.command(run.sandbox.spec, run.command, { dieWithParent: true }),
        env: { ...run.sandbox.sandbox.baseEnv(run.sandbox.spec), ...run.env },
      }
    : { file: '/bin/sh', args: ['-c', run.command], env: run.env };
  return new Promise((resolve) => {
    // Its own process group, so a timeout kills everything the build started.
    const child = spawn(target.file, target.args, {
      cwd: run.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: target.env,
      detached: true,
    });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-run.outputTail);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\n(build timed out after ${Math.round(run.timeoutMs / 60_000)} minutes)`;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, run.timeoutMs);
    child.on('error', (err) => {
      output += `\n${err.message}`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        ok: code === 0,
        ms: Math.round(performance.now() - started),
        output: output.slice(-run.outputTail) || null,
      });
    });
  });
}

import { execFile } from 'node:child_process';
import { dirname } from 'node:path';

/** The directories replicas find programs in (the sandbox's PATH; runtime-local/sandbox.ts). */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let cached: Promise<string> | undefined;

/**
 * `node --version` as replicas see it (e.g. `v20.20.2`), for package.json's engines.node check.
 * The runtime mounts the control plane's own Node.js first on the replicas' PATH, so that is the
 * one asked; its own version when the binary cannot be run. Asked once per process.
 */
export function runtimeNodeVersion(): Promise<string> {
  cached ??= new Promise((resolve) => {
    execFile(
      'node',
      ['--version'],
      { env: { PATH: `${dirname(process.execPath)}:${SYSTEM_PATH}` }, timeout: 10_000 },
      (err, stdout) => {
        const version = stdout.trim();
        resolve(!err && /^v\d+\.\d+\.\d+/.test(version) ? version : process.version);
      },
    );
  });
  return cached;
}

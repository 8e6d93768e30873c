import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { ACME_CONFIG, CLI_BIN, freePort, ROOT, runCli, startTestServer, type TestServer } from '../support/server.ts';
import { waitUntil } from '../support/wait.ts';

// `idp create` keeps following a task while the control plane restarts: the task hangs in
// publish:git (a remote that accepts the connection and never answers), the control plane is
// stopped and started again on the same port and data dir, it resumes the task (this time the
// remote refuses at once, so the step fails), and the same `idp create` process reconnects, prints
// the resumed attempt and ends with exit 1 naming the step to retry.

const TEMPLATE = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: slow-publish
spec:
  owner: group:default/payments
  type: service
  parameters:
    properties:
      remote: { type: string }
  steps:
    - id: hello
      action: debug:log
      input:
        message: before the publish
    - id: publish
      action: publish:git
      input:
        remoteUrl: \${{ parameters.remote }}
`;

let dir: string;
let dataDir: string;
let configPath: string;
let port: number;
let server: TestServer | undefined;
let remote: Server;
let hangUrl: string;
const held = new Set<Socket>();
const sockets = new Set<Socket>();
let connections = 0;

const start = () => startTestServer({ configPath, dataDir, port });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'idp-templates-restart-'));
  dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  mkdirSync(join(dir, 'slow'));
  writeFileSync(join(dir, 'slow/template.yaml'), TEMPLATE);
  // The first connection is held unanswered; later ones are told the repository does not exist.
  remote = createServer((socket) => {
    socket.on('error', () => {});
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (++connections === 1) {
      held.add(socket);
      socket.on('close', () => held.delete(socket));
      return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
  hangUrl = `http://127.0.0.1:${(remote.address() as { port: number }).port}/hang/`;
  const config = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
  config.setIn(['templates', 'publish', 'git', 'allowedRemotes'], [hangUrl]);
  configPath = join(dir, 'idp.config.yaml');
  writeFileSync(configPath, config.toString());
  port = await freePort();
  server = await start();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => (remote ? remote.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('idp create across a control-plane restart', { timeout: 240_000 }, () => {
  it('reconnects, follows the resumed task to its end and exits 1 naming the step', async () => {
    const env = { IDP_URL: server!.url, IDP_TOKEN: server!.adminToken };
    const registered = await runCli(['catalog:register', join(dir, 'slow/template.yaml')], env);
    expect(registered.code, registered.stderr).toBe(0);

    // `idp create` as its own process, its stderr read as it comes.
    const child = spawn(process.execPath, [CLI_BIN, 'create', 'slow-publish', '--set', `remote=${hangUrl}demo.git`], {
      cwd: ROOT,
      env: { ...process.env, IDP_CONFIG_DIR: join(dir, 'no-config'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

    await waitUntil(
      'the task hangs in publish:git, followed',
      () => held.size === 1 && /^▸ \[2\/2\] publish/m.test(stderr),
    );
    await server!.stop();
    server = undefined;
    await waitUntil('the follower notices', () =>
      stderr.includes('Lost the connection to the control plane; reconnecting…'),
    );
    server = await start();

    const code = await exit;
    expect(code, stderr).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    const order = [
      at(/^▸ \[1\/2\] hello: debug:log$/),
      at(/^ {4}before the publish$/),
      at(/^✓ hello completed/),
      at(/^▸ \[2\/2\] publish: publish:git$/),
      at(/^Lost the connection to the control plane; reconnecting…$/),
      at(/^Reconnected\.$/),
      at(/^▸ \[2\/2\] publish: publish:git \(attempt 2\)$/),
      at(/^✗ publish failed/),
      at(/^Error \[TEMPLATE_ACTION_FAILED\]: task \S+ failed at step publish: /),
    ];
    expect(
      order.every((i) => i >= 0),
      stderr,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // The step done before the restart is not run again.
    expect(stderr.match(/before the publish/g)).toHaveLength(1);
    expect(connections).toBeGreaterThanOrEqual(2);
  });
});

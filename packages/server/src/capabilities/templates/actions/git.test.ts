import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { git, GitFailed } from './git.ts';

describe('git as the actions run it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-git-test-'));
  const servers: Server[] = [];
  afterAll(() => {
    for (const server of servers) server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A remote that accepts the connection and never answers; resolves its first socket. */
  async function silentRemote(): Promise<{ url: string; socket: Promise<Socket> }> {
    let gotSocket!: (socket: Socket) => void;
    const socket = new Promise<Socket>((resolve) => (gotSocket = resolve));
    // Read what git sends (so the end of the connection is seen), answer nothing.
    const server = createServer((s) => {
      s.on('error', () => {});
      s.resume();
      gotSocket(s);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}/repo.git`, socket };
  }

  it("a cancel stops git's helper processes too: the remote's connection closes at once", async () => {
    const remote = await silentRemote();
    const controller = new AbortController();
    const run = git(['ls-remote', remote.url], { cwd: dir, timeoutMs: 60_000, signal: controller.signal });
    const socket = await remote.socket;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    controller.abort();
    await expect(run).rejects.toThrow(GitFailed);
    await expect(run).rejects.toThrow('git ls-remote was stopped');
    // git remote-http held this connection; it is gone with git's process group.
    await closed;
  });

  it('a timeout stops it the same way and says how long it waited', async () => {
    const remote = await silentRemote();
    const run = git(['ls-remote', remote.url], { cwd: dir, timeoutMs: 1_000 });
    const socket = await remote.socket;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await expect(run).rejects.toThrow('git ls-remote took longer than 1s');
    await closed;
  });
});

// The processes of the proxy benchmark: the backend, the raw TCP relay, the idp proxy (the bench
// file re-run as a child) and nginx, each its own process, with their CPU time read from /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '..');

export const BACKEND_SOURCE = `
const http = require('node:http');
const body = Buffer.from(JSON.stringify({ ok: true, service: 'bench-api' }));
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
`;

export const RELAY_SOURCE = `
const net = require('node:net');
const server = net.createServer((client) => {
  const upstream = net.connect(Number(process.env.IDP_BENCH_BACKEND_PORT), '127.0.0.1');
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
`;

export interface Peer {
  child: ChildProcess;
  port: number;
  /** Extra clean-up once the process has exited (nginx's temp dir). */
  cleanup?: () => void;
}

/** A node child that prints `PORT <n>` once it listens. */
export function startNodeChild(args: string[], env: Record<string, string> = {}): Promise<Peer> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolvePort, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^PORT (\d+)$/.exec(line);
      if (match) resolvePort({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`child ${args[0]} exited with ${code}`)));
  });
}

export async function stopPeer(peer: Peer): Promise<void> {
  const { child } = peer;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  peer.cleanup?.();
}

/** CPU seconds a process and its children (nginx's workers) have used so far, user + system (Linux /proc). */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    let seconds = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, ticks of 1/100 s
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const child of children === '' ? [] : children.split(' ')) seconds += cpuSeconds(Number(child));
    return seconds;
  } catch {
    return NaN;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** nginx's binary, installed with apt-get when missing (the bench says so). */
export function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  console.log('nginx not found: installing the Debian package (apt-get install -y nginx) …');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx'], { stdio: 'inherit', env });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    if (install().status !== 0) throw new Error('could not install nginx with apt-get');
  }
  return nginxBinary();
}

export const NGINX_WORKERS = 1;

/**
 * nginx in front of the same backend, configured like the idp proxy works: keep-alive to the
 * backend (a pool of idle connections, HTTP/1.1, Connection cleared), the same forwarded headers
 * and release header, no access log, one worker (the idp proxy is one event loop), run in the
 * foreground from a temp dir on an unprivileged port and stopped with the run.
 */
export async function startNginx(backendPort: number, host: string, release: string): Promise<Peer> {
  const binary = nginxBinary();
  const dir = mkdtempSync(join(tmpdir(), 'idp-bench-nginx-'));
  const port = await freePort();
  const conf = `
worker_processes ${NGINX_WORKERS};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 65s;
  keepalive_requests 100000000;
  upstream bench_api {
    server 127.0.0.1:${backendPort};
    keepalive 256;
    keepalive_requests 100000000;
    keepalive_timeout 65s;
  }
  server {
    listen 127.0.0.1:${port};
    server_name ${host};
    location / {
      proxy_pass http://bench_api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Port $server_port;
      add_header X-Idp-Release ${release};
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`nginx exited with ${code}: ${readLog(dir)}`))),
  );
  const deadline = Date.now() + 10_000;
  const ready = (async () => {
    while (!(await accepts(port))) {
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}: ${readLog(dir)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await Promise.race([ready, exited]);
  exited.catch(() => undefined);
  return { child, port, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8').trim();
  } catch {
    return '';
  }
}

/** `nginx version: nginx/1.22.1` → `1.22.1`. */
export function nginxVersion(): string {
  const out = spawnSync(nginxBinary(), ['-v'], { encoding: 'utf8' });
  return /nginx\/(\S+)/.exec(`${out.stderr}${out.stdout}`)?.[1] ?? 'unknown';
}

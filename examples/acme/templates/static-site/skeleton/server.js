// Serves the files under public/ on PORT (no npm dependencies): GET and HEAD only, index.html for
// folders, nothing outside public/ (no `..`, no links followed out), /health for the platform.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('./public', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The file a URL path names under `root`, or undefined (missing, outside, or not a regular file). */
async function resolveFile(root, urlPath) {
  let rel;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (rel.includes('\0') || rel.split('/').includes('..')) return undefined;
  let file = join(root, rel);
  try {
    let st = await stat(file);
    if (st.isDirectory()) {
      file = join(file, 'index.html');
      st = await stat(file);
    }
    const realRoot = await realpath(root);
    const real = await realpath(file);
    if (!st.isFile() || !(real === realRoot || real.startsWith(realRoot + sep))) return undefined;
    return { file: real, size: st.size };
  } catch {
    return undefined;
  }
}

export function createSite({ root = ROOT } = {}) {
  return createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const found = await resolveFile(root, path);
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(found.file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': found.size,
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(found.file).pipe(res);
  });
}

// Started as `node server.js` (not when a test imports it).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = createSite();
  const port = Number(process.env.PORT ?? 3000);
  server.listen(port, () => process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'listening', port })}\n`));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// A minimal Redis client over node:net (RESP2): one connection, commands answered in order.
// Enough for this service's needs (AUTH, PING, INCR, GET) without an npm dependency.
import { connect } from 'node:net';

/** Encodes one command as a RESP array of bulk strings. */
export function encodeCommand(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = String(a);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

/** Parses one reply from `buf` at `pos`; returns [value, next position] or undefined when incomplete. */
export function parseReply(buf, pos = 0) {
  const end = buf.indexOf('\r\n', pos);
  if (end < 0) return undefined;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, end);
  const next = end + 2;
  if (type === '+') return [line, next];
  if (type === '-') return [new Error(line), next];
  if (type === ':') return [Number(line), next];
  if (type === '$') {
    const len = Number(line);
    if (len < 0) return [null, next];
    if (buf.length < next + len + 2) return undefined;
    return [buf.toString('utf8', next, next + len), next + len + 2];
  }
  if (type === '*') {
    const n = Number(line);
    if (n < 0) return [null, next];
    const items = [];
    let at = next;
    for (let i = 0; i < n; i++) {
      const r = parseReply(buf, at);
      if (!r) return undefined;
      items.push(r[0]);
      at = r[1];
    }
    return [items, at];
  }
  throw new Error(`unexpected Redis reply type ${JSON.stringify(type)}`);
}

/** Connects to `url` (redis://[user:password@]host:port[/db]), authenticates and selects the database. */
export async function redisConnect(url, { timeoutMs = 2000 } = {}) {
  const u = new URL(url);
  const socket = connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) });
  socket.setNoDelay(true);
  const waiting = [];
  let buf = Buffer.alloc(0);
  let failed;
  const fail = (err) => {
    failed = err;
    for (const w of waiting.splice(0)) w.reject(err);
  };
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const r = parseReply(buf);
      if (!r) break;
      buf = buf.subarray(r[1]);
      const w = waiting.shift();
      if (!w) continue;
      if (r[0] instanceof Error) w.reject(r[0]);
      else w.resolve(r[0]);
    }
  });
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('Redis connection closed')));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  const client = {
    command(...args) {
      if (failed) return Promise.reject(failed);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`Redis ${args[0]} timed out`)), timeoutMs);
        waiting.push({
          resolve: (v) => (clearTimeout(timer), resolve(v)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        socket.write(encodeCommand(args));
      });
    },
    close() {
      socket.destroy();
    },
  };
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  if (password) await client.command('AUTH', ...(user ? [user, password] : [password]));
  const db = u.pathname.replace(/^\//, '');
  if (db && db !== '0') await client.command('SELECT', db);
  return client;
}

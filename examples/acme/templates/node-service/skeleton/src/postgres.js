// A minimal PostgreSQL client over node:net (protocol 3.0, simple queries, text results).
// Authentication: trust, password, md5 and SCRAM-SHA-256 — what a server's pg_hba may ask for.
// Enough for this service's needs without an npm dependency; use a full driver for more.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect } from 'node:net';

function message(type, body) {
  const head = Buffer.alloc(type ? 5 : 4);
  if (type) head.write(type, 0);
  head.writeInt32BE(body.length + 4, type ? 1 : 0);
  return Buffer.concat([head, body]);
}
const cstring = (s) => Buffer.from(`${s}\0`);

function errorFields(body) {
  const fields = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at]);
    const end = body.indexOf(0, at + 1);
    fields[code] = body.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return fields;
}

function scram(password) {
  const nonce = randomBytes(18).toString('base64');
  const firstBare = `n=*,r=${nonce}`;
  return {
    first: Buffer.from(`n,,${firstBare}`),
    final(serverFirst) {
      const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
      if (!attrs.r?.startsWith(nonce)) throw new Error('SCRAM: the server nonce does not extend ours');
      const salted = pbkdf2Sync(password, Buffer.from(attrs.s, 'base64'), Number(attrs.i), 32, 'sha256');
      const clientKey = createHmac('sha256', salted).update('Client Key').digest();
      const storedKey = createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=biws,r=${attrs.r}`;
      const auth = `${firstBare},${serverFirst},${withoutProof}`;
      const signature = createHmac('sha256', storedKey).update(auth).digest();
      const proof = clientKey.map((b, i) => b ^ signature[i]);
      return Buffer.from(`${withoutProof},p=${Buffer.from(proof).toString('base64')}`);
    },
  };
}

/** Connects to `url` (postgres://user:password@host:port/database); resolves once the server is ready for queries. */
export async function pgConnect(url, { timeoutMs = 2000 } = {}) {
  const u = new URL(url);
  const user = decodeURIComponent(u.username) || 'postgres';
  const password = decodeURIComponent(u.password);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || user;
  const socket = connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || 5432) });
  let buf = Buffer.alloc(0);
  let onMessage = () => {};
  let failed;
  const fail = (err) => {
    failed = err;
    onMessage(undefined, undefined, err);
  };
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 5) {
      const len = buf.readInt32BE(1);
      if (buf.length < len + 1) break;
      const type = String.fromCharCode(buf[0]);
      const body = buf.subarray(5, len + 1);
      buf = buf.subarray(len + 1);
      onMessage(type, body);
    }
  });
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('PostgreSQL connection closed')));

  /** Runs `handle(type, body)` for each message until it returns a value other than undefined. */
  // A query's error is followed by ReadyForQuery, so it is thrown there (the connection stays
  // usable); during start-up an error ends the connection, so it is thrown at once.
  const until = (handle, what) =>
    new Promise((resolve, reject) => {
      if (failed) return reject(failed);
      const timer = setTimeout(() => reject(new Error(`PostgreSQL ${what} timed out after ${timeoutMs} ms`)), timeoutMs);
      let queryError;
      onMessage = (type, body, err) => {
        try {
          if (err) throw err;
          if (type === 'E') {
            const f = errorFields(body);
            queryError = new Error(`PostgreSQL: ${f.M ?? 'error'}${f.C ? ` (${f.C})` : ''}`);
            if (what !== 'query') throw queryError;
            return;
          }
          if (type === 'Z' && queryError) throw queryError;
          const done = handle(type, body);
          if (done !== undefined) {
            clearTimeout(timer);
            onMessage = () => {};
            resolve(done);
          }
        } catch (e) {
          clearTimeout(timer);
          onMessage = () => {};
          reject(e);
        }
      };
    });

  const params = Buffer.concat([cstring('user'), cstring(user), cstring('database'), cstring(database), Buffer.from([0])]);
  const version = Buffer.alloc(4);
  version.writeInt32BE(196608);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`PostgreSQL did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => (clearTimeout(timer), resolve()));
    socket.once('error', (err) => (clearTimeout(timer), reject(err)));
  }).catch((err) => {
    socket.destroy();
    throw err;
  });
  let sasl;
  const ready = until((type, body) => {
    if (type === 'R') {
      const code = body.readInt32BE(0);
      if (code === 3) socket.write(message('p', cstring(password)));
      else if (code === 5) {
        const inner = createHash('md5').update(password + user).digest('hex');
        const outer = createHash('md5').update(inner).update(body.subarray(4, 8)).digest('hex');
        socket.write(message('p', cstring(`md5${outer}`)));
      } else if (code === 10) {
        if (!body.toString('utf8', 4).split('\0').includes('SCRAM-SHA-256')) throw new Error('PostgreSQL: no SASL mechanism we speak');
        sasl = scram(password);
        const len = Buffer.alloc(4);
        len.writeInt32BE(sasl.first.length);
        socket.write(message('p', Buffer.concat([cstring('SCRAM-SHA-256'), len, sasl.first])));
      } else if (code === 11) socket.write(message('p', sasl.final(body.toString('utf8', 4))));
      else if (code !== 0 && code !== 12) throw new Error(`PostgreSQL: unsupported authentication method ${code}`);
    }
    return type === 'Z' ? true : undefined;
  }, 'connection');
  socket.write(message('', Buffer.concat([version, params])));
  await ready.catch((err) => {
    socket.destroy();
    throw err;
  });

  return {
    /** One simple query; resolves to its rows as objects of text values (the last statement's). */
    query(sql) {
      let columns = [];
      let rows = [];
      const result = until((type, body) => {
        if (type === 'T') {
          columns = [];
          rows = [];
          let at = 2;
          for (let i = 0; i < body.readInt16BE(0); i++) {
            const end = body.indexOf(0, at);
            columns.push(body.toString('utf8', at, end));
            at = end + 1 + 18;
          }
        } else if (type === 'D') {
          const row = {};
          let at = 2;
          for (let i = 0; i < body.readInt16BE(0); i++) {
            const len = body.readInt32BE(at);
            at += 4;
            row[columns[i]] = len < 0 ? null : body.toString('utf8', at, at + len);
            at += Math.max(len, 0);
          }
          rows.push(row);
        }
        return type === 'Z' ? rows : undefined;
      }, 'query');
      socket.write(message('Q', cstring(sql)));
      return result;
    },
    close() {
      if (!failed) socket.end(message('X', Buffer.alloc(0)));
      socket.destroy();
    },
  };
}

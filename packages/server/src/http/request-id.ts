import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

// Random bytes drawn 4 KiB at a time: one draw per 512 ids instead of one per request.
let entropy = Buffer.alloc(0);
let used = 0;

function randomHex8(): string {
  if (used + 8 > entropy.length) {
    entropy = randomBytes(4096);
    used = 0;
  }
  used += 8;
  return entropy.toString('hex', used - 8, used);
}

/** Keeps a caller's x-request-id when it is safe to log and echo; otherwise makes one. */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && SAFE_ID.test(given)) return given;
  return `req_${randomHex8()}`;
}

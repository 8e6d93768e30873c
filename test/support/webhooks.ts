import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { sign } from '@octokit/webhooks-methods';

const require = createRequire(import.meta.url);

interface ExampleGroup {
  name: string;
  actions: string[];
  examples: Array<Record<string, any>>;
}

/** A real GitHub payload from @octokit/webhooks-examples (a deep copy to adjust). */
export function examplePayload(event: string, action?: string): Record<string, any> {
  const groups = require('@octokit/webhooks-examples/api.github.com/index.json') as ExampleGroup[];
  const group = groups.find((g) => g.name === event);
  const example = group?.examples.find((e) => action === undefined || e.action === action);
  if (!example) throw new Error(`no example ${event}${action ? `.${action}` : ''}`);
  return structuredClone(example);
}

export interface Delivery {
  event?: string;
  id?: string;
  /** The raw body (a string or bytes), or an object sent as JSON. */
  body: string | Buffer | Record<string, unknown>;
  /** The secret to sign with; null: no signature header. */
  secret: string | null;
  /** Replaces the signature header as is. */
  signature?: string;
  contentType?: string;
}

/** POSTs a delivery to /api/webhooks/github as GitHub does; returns the answer and how long it took (ms). */
export async function deliver(server: { url: string }, d: Delivery) {
  const raw = typeof d.body === 'string' || Buffer.isBuffer(d.body) ? d.body : JSON.stringify(d.body);
  const id = d.id ?? randomUUID();
  const headers: Record<string, string> = {
    'content-type': d.contentType ?? 'application/json',
    'x-github-event': d.event ?? 'pull_request',
    'x-github-delivery': id,
    'user-agent': 'GitHub-Hookshot/test',
  };
  if (d.signature !== undefined) headers['x-hub-signature-256'] = d.signature;
  else if (d.secret !== null) headers['x-hub-signature-256'] = await sign(d.secret, raw.toString());
  const started = performance.now();
  const res = await fetch(`${server.url}/api/webhooks/github`, { method: 'POST', headers, body: raw });
  const text = await res.text();
  const ms = performance.now() - started;
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { id, status: res.status, json, text, ms };
}

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature, webhookSecrets } from '../../packages/server/src/capabilities/previews/signature.ts';
import { PreviewsSchema } from '../../packages/server/src/config/previews.ts';
import { ACME_CONFIG, ROOT, startTestServer, type TestServer } from '../support/server.ts';
import { deliver, examplePayload } from '../support/webhooks.ts';

// POST /api/webhooks/github as an attacker sees it: no token is needed, so the signature is all
// that stands between the internet and a preview environment running code. Unsigned, forged and
// tampered bodies are 401 (audited) and leave nothing behind; a replayed delivery (the same id,
// or a captured body under a new id) does nothing; huge and malformed bodies are refused;
// deliveries for other repositories are recorded as ignored; hostile branch names and titles are
// stored as data. The known test vector and secret rotation are checked on the real route.

const CURRENT = 'current-Secret-9fQ2';
const PREVIOUS = 'previous-Secret-Lw41';
const REPO = 'Codertocat/Hello-World';

describe('GitHub webhook: the signature is the authentication', () => {
  let server: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'idp-sec-webhook-'));

  const rows = () => server.services.store.db.selectFrom('webhook_deliveries').selectAll().execute();
  const row = (id: string) =>
    server.services.store.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();

  beforeAll(async () => {
    const secretFile = join(dir, 'webhook-secret');
    writeFileSync(secretFile, `${CURRENT}\n`);
    chmodSync(secretFile, 0o600);
    process.env.IDP_TEST_WEBHOOK_SECRET_OLD = PREVIOUS;
    const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
    doc.setIn(['previews'], {
      github: {
        webhookSecret: { file: secretFile },
        previousWebhookSecrets: [{ env: 'IDP_TEST_WEBHOOK_SECRET_OLD' }],
        maxBodyKiB: 64,
      },
      repositories: { [REPO]: { cloneUrl: `file://${join(dir, 'missing-repo')}`, team: 'payments' } },
    });
    const config = join(dirname(ACME_CONFIG), 'idp.sec-webhook.config.yaml');
    writeFileSync(config, doc.toString());
    server = await startTestServer({ catalogTimer: false, environmentTimers: false, configPath: config });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the known test vector verifies; one changed digit, another secret or a malformed header does not', async () => {
    const body = Buffer.from('Hello, World!');
    const good = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    const secrets = { current: "It's a Secret to Everybody", previous: [] };
    expect(await verifySignature(secrets, body, good)).toBe('current');
    expect(await verifySignature(secrets, body, `${good.slice(0, -1)}f`)).toBeNull();
    expect(await verifySignature(secrets, body, good.replace('sha256=', 'sha1='))).toBeNull();
    expect(await verifySignature(secrets, body, good.toUpperCase())).toBeNull();
    expect(await verifySignature(secrets, body, [good, good])).toBeNull();
    expect(await verifySignature({ current: 'other', previous: [] }, body, good)).toBeNull();
    // Rotation: the old secret is still accepted, and says so.
    expect(await verifySignature({ current: 'new', previous: [secrets.current] }, body, good)).toBe('previous');
    // Bytes that are not UTF-8 are never what GitHub signed, whatever they decode to.
    const bad = Buffer.from([0x48, 0xff, 0x21]);
    expect(await verifySignature(secrets, bad, await sign(secrets.current, bad.toString('utf8')))).toBeNull();
  });

  it('the comparison is constant-time: crypto.timingSafeEqual behind @octokit/webhooks-methods, every secret tried', () => {
    const octokit = readFileSync(join(ROOT, 'node_modules/@octokit/webhooks-methods/dist-node/index.js'), 'utf8');
    expect(octokit).toMatch(/timingSafeEqual\(signatureBuffer, verificationBuffer\)/);
    const ours = readFileSync(join(ROOT, 'packages/server/src/capabilities/previews/signature.ts'), 'utf8');
    expect(ours).toMatch(/import \{ verify \} from '@octokit\/webhooks-methods'/);
    // No early exit on the first secret that matches: the loop over previous secrets always runs.
    expect(ours).not.toMatch(/===\s*header|header\s*===|===\s*signature/);
    expect(ours).toMatch(/for \(const s of secrets\.previous\)/);
  });

  it('unsigned, forged and tampered deliveries: 401, audited, nothing recorded', async () => {
    const before = (await rows()).length;
    const body = examplePayload('pull_request', 'opened');
    const unsigned = await deliver(server, { body, secret: null });
    const forged = await deliver(server, { body, secret: 'guessed-secret' });
    const signedOther = await sign(CURRENT, JSON.stringify({ ...body, number: 99 }));
    const tampered = await deliver(server, { body, secret: null, signature: signedOther });
    const garbage = await deliver(server, { body, secret: null, signature: 'sha256=zz' });
    for (const r of [unsigned, forged, tampered, garbage]) {
      expect(r.status, r.text).toBe(401);
      expect(r.json.error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
      expect(r.text).not.toContain(CURRENT);
    }
    expect((await rows()).length).toBe(before);
    for (const r of [unsigned, forged, tampered, garbage]) expect(await row(r.id)).toBeUndefined();
    const audit = await server.services.store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target', '=', 'route:POST /api/webhooks/github')
      .execute();
    expect(audit.some((a) => a.decision === 'deny' && JSON.parse(a.details).code === 'WEBHOOK_SIGNATURE_INVALID')).toBe(
      true,
    );
  });

  it('rotation: a delivery signed with the previous secret is accepted, as is one with the current', async () => {
    const oldSigned = examplePayload('pull_request', 'opened');
    oldSigned.number = 501;
    const a = await deliver(server, { body: oldSigned, secret: PREVIOUS });
    expect(a.status, a.text).toBe(202);
    const newSigned = examplePayload('pull_request', 'opened');
    newSigned.number = 502;
    const b = await deliver(server, { body: newSigned, secret: CURRENT });
    expect(b.status, b.text).toBe(202);
    expect(await row(a.id)).toMatchObject({ repo: REPO, number: 501, event: 'pull_request', action: 'opened' });
    expect(await row(b.id)).toMatchObject({ repo: REPO, number: 502 });
  });

  it('replays: the same delivery id, or the same signed body under a new id, do nothing more', async () => {
    const body = examplePayload('pull_request', 'opened');
    body.number = 601;
    const first = await deliver(server, { body, secret: CURRENT });
    expect(first.status, first.text).toBe(202);
    const again = await deliver(server, { body, secret: CURRENT, id: first.id });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ delivery: first.id, status: 'duplicate' });
    const captured = await deliver(server, { body, secret: CURRENT });
    expect(captured.status).toBe(200);
    expect(captured.json).toMatchObject({ status: 'duplicate' });
    expect(await row(captured.id)).toBeUndefined();
    const forPr = (await rows()).filter((r) => r.repo === REPO && r.number === 601);
    expect(forPr).toHaveLength(1);
  });

  it('a body over previews.github.maxBodyKiB is refused before it is read whole; nothing recorded', async () => {
    const before = (await rows()).length;
    const body = examplePayload('pull_request', 'opened');
    body.pull_request.body = 'x'.repeat(70 * 1024);
    const r = await deliver(server, { body, secret: CURRENT });
    expect(r.status, r.text).toBe(400);
    expect(r.json.error.code).toBe('WEBHOOK_PAYLOAD_INVALID');
    expect((await rows()).length).toBe(before);
  });

  it('signed but malformed: not JSON, not a pull_request, wrong content type → 400 and recorded as failed', async () => {
    const notJson = await deliver(server, { body: '{"action": "opened",', secret: CURRENT });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.code).toBe('WEBHOOK_PAYLOAD_INVALID');
    expect(await row(notJson.id)).toMatchObject({ status: 'failed', outcome: expect.stringContaining('not JSON') });

    const shapeless = await deliver(server, { body: { action: 'opened', number: 'seven' }, secret: CURRENT });
    expect(shapeless.status).toBe(400);
    expect(await row(shapeless.id)).toMatchObject({ status: 'failed' });

    const form = await deliver(server, {
      body: 'payload=%7B%7D',
      secret: CURRENT,
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(400);
    expect(await row(form.id)).toMatchObject({ status: 'failed', outcome: expect.stringContaining('content type') });

    const noId = await deliver(server, { body: { zen: 'x' }, secret: CURRENT, event: 'ping', id: 'a b;c' });
    expect(noId.status).toBe(400);
    expect(noId.json.error.details.field).toBe('x-github-delivery');
  });

  it('an unknown repository: 202 ignored and recorded; other events ignored; ping answered', async () => {
    const body = examplePayload('pull_request', 'opened');
    body.repository.full_name = 'someone-else/app';
    const r = await deliver(server, { body, secret: CURRENT });
    expect(r.status, r.text).toBe(202);
    expect(r.json).toMatchObject({ status: 'ignored' });
    expect(await row(r.id)).toMatchObject({
      status: 'ignored',
      repo: 'someone-else/app',
      outcome: expect.stringContaining('not configured'),
    });

    const push = await deliver(server, { event: 'push', body: { ref: 'refs/heads/main' }, secret: CURRENT });
    expect(push.status).toBe(202);
    expect(await row(push.id)).toMatchObject({ status: 'ignored' });

    const ping = await deliver(server, { event: 'ping', body: examplePayload('ping'), secret: CURRENT });
    expect(ping.status).toBe(200);
    expect(ping.json).toMatchObject({ status: 'pong' });
  });

  it('shell and SQL metacharacters in branch names and titles are stored as data', async () => {
    const body = examplePayload('pull_request', 'opened');
    body.number = 701;
    body.pull_request.title = `'; DROP TABLE previews; -- $(touch ${dir}/pwned) \`id\``;
    body.pull_request.head.ref = `x;rm -rf /;$(touch ${dir}/pwned2)`;
    const r = await deliver(server, { body, secret: CURRENT });
    expect(r.status, r.text).toBe(202);
    const stored = JSON.parse((await row(r.id))!.payload);
    expect(stored.pull_request.title).toBe(body.pull_request.title);
    expect(stored.pull_request.head.ref).toBe(body.pull_request.head.ref);
    // Only the fields the life cycle reads are kept, never the whole body.
    expect(stored.pull_request.body).toBeUndefined();
    expect(await server.services.store.db.selectFrom('previews').select('repo').execute()).toBeDefined();
  });

  it('no webhook secret configured: the secret reference resolves to nothing (the route answers 503)', () => {
    const cfg = PreviewsSchema.parse({ github: { webhookSecret: { env: 'IDP_TEST_UNSET_SECRET' } } });
    expect(webhookSecrets(cfg, {})).toBeUndefined();
    const loose = join(dir, 'loose-secret');
    writeFileSync(loose, 'x');
    chmodSync(loose, 0o644);
    expect(() => webhookSecrets(PreviewsSchema.parse({ github: { webhookSecret: { file: loose } } }))).toThrow(
      /readable by others/,
    );
  });
});

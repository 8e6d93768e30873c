import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { policyGate, testDirectory } from '../../../../../test/support/unit-server.ts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import type { RequestContext } from '../../auth/context.ts';
import { PREVIEWS_DEFAULTS, PreviewsSchema } from '../../config/previews.ts';
import { PreviewQueries, type OperatorDelivery } from './listing.ts';

const clock = { now: () => new Date('2026-12-01T10:00:00.000Z') };
const config = PreviewsSchema.parse({
  repositories: { 'acme/payments': { cloneUrl: 'file:///tmp/none', team: 'payments' } },
});

function ctx(user: string): RequestContext {
  return {
    principal: {
      ref: `user:default/${user}`,
      name: user,
      email: `${user}@company.com`,
      displayName: null,
      teams: [],
      roles: ['member'],
      tokenId: null,
    },
    requestId: `req-${user}`,
  };
}

describe('previews as the API reads them', () => {
  const tmp = tempSqliteStore('preview-listing');
  const queued: OperatorDelivery[] = [];

  function queries() {
    const directory = testDirectory('admins', {
      admins: ['user:default/root'],
      payments: ['user:default/alice'],
      users: ['user:default/mallory'],
    });
    const { gate, audit } = policyGate(tmp.store, directory, clock);
    return {
      q: new PreviewQueries({
        db: tmp.store.db,
        gate,
        audit,
        clock,
        config: () => config,
        queue: async (d) => {
          queued.push(d);
        },
      }),
    };
  }

  async function insert(repo: string, number: number, status = 'ready') {
    await tmp.store.db
      .insertInto('previews')
      .values({
        repo,
        number,
        env: `pr-${number}-${repo.replace('/', '-')}`,
        status,
        head_sha: 'c'.repeat(40),
        head_ref: 'feature; DROP TABLE previews; --',
        head_repo: repo,
        fork: 0,
        trusted: 0,
        title: '$(reboot)',
        author: 'octocat',
        services: JSON.stringify([
          { service: 'payments-api', version: 'v', status: 'healthy', url: 'http://x.localhost', deploymentId: 'd' },
        ]),
        note: null,
        comment_id: null,
        created_at: clock.now().toISOString(),
        updated_at: clock.now().toISOString(),
        expires_at: null,
        closed_at: null,
      })
      .execute();
    await tmp.store.db
      .insertInto('webhook_deliveries')
      .values({
        id: `d-${repo}-${number}`,
        event: 'pull_request',
        action: 'opened',
        repo,
        number,
        payload: '{}',
        status: 'done',
        outcome: 'opened: deploying',
        attempts: 1,
        received_at: clock.now().toISOString(),
        finished_at: clock.now().toISOString(),
      })
      .execute();
  }

  it('the owning team and admins see a preview with its services and events; others are told there is none', async () => {
    await insert('acme/payments', 12);
    await insert('other/repo', 3);
    const { q } = queries();
    const seen = await q.get(ctx('alice'), 'acme/payments', 12);
    expect(seen).toMatchObject({
      env: 'pr-12-acme-payments',
      team: 'payments',
      headRef: 'feature; DROP TABLE previews; --',
      services: [{ service: 'payments-api', url: 'http://x.localhost' }],
      events: [{ delivery: 'd-acme/payments-12', action: 'opened', status: 'done', outcome: 'opened: deploying' }],
    });
    expect((await q.get(ctx('root'), 'acme/payments', 12)).number).toBe(12);
    const refused = await q.get(ctx('mallory'), 'acme/payments', 12).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IdpError);
    expect((refused as IdpError).code).toBe('PREVIEW_NOT_FOUND');
    const none = await q.get(ctx('alice'), 'acme/payments', 999).catch((e: unknown) => e);
    expect((none as IdpError).message).toBe((refused as IdpError).message.replace('#12', '#999'));

    expect((await q.list(ctx('alice'))).map((p) => `${p.repo}#${p.number}`)).toEqual(['acme/payments#12']);
    expect((await q.list(ctx('root'))).map((p) => `${p.repo}#${p.number}`)).toEqual([
      'acme/payments#12',
      'other/repo#3',
    ]);
    expect(await q.list(ctx('mallory'))).toEqual([]);
    expect(await q.list(ctx('root'), 'other/repo')).toHaveLength(1);
  });

  it('redeploy and delete are queued as deliveries for the worker and audited; others cannot', async () => {
    await insert('acme/payments', 13);
    const { q } = queries();
    await q.redeploy(ctx('alice'), 'acme/payments', 13);
    await q.delete(ctx('alice'), 'acme/payments', 13);
    const mine = queued.filter((d) => d.number === 13);
    expect(mine.map((d) => [d.action, d.repo, d.event])).toEqual([
      ['redeploy', 'acme/payments', 'pull_request'],
      ['closed', 'acme/payments', 'pull_request'],
    ]);
    expect(mine[0]?.payload).toMatchObject({
      action: 'redeploy',
      number: 13,
      pull_request: { head: { sha: 'c'.repeat(40) }, state: 'open' },
    });
    expect(mine[1]?.payload).toMatchObject({ action: 'closed', pull_request: { state: 'closed', merged: false } });
    const records = await tmp.store.db
      .selectFrom('audit_log')
      .select('action')
      .where('actor', '=', 'user:default/alice')
      .execute();
    expect(records.map((r) => r.action)).toEqual(expect.arrayContaining(['preview:redeploy', 'preview:delete']));

    await expect(q.delete(ctx('mallory'), 'acme/payments', 13)).rejects.toMatchObject({ code: 'PREVIEW_NOT_FOUND' });
    expect(queued.filter((d) => d.number === 13)).toHaveLength(2);
  });

  it('a preview torn down cannot be redeployed, and deleting it again changes nothing', async () => {
    await insert('acme/payments', 14, 'deleted');
    const { q } = queries();
    await expect(q.redeploy(ctx('alice'), 'acme/payments', 14)).rejects.toMatchObject({ code: 'PREVIEW_NOT_FOUND' });
    expect((await q.delete(ctx('alice'), 'acme/payments', 14)).status).toBe('deleted');
    expect(queued.filter((d) => d.number === 14)).toHaveLength(0);
    expect(PREVIEWS_DEFAULTS.repositories).toEqual({});
  });
});

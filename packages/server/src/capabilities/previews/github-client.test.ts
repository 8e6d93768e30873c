import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGithubFake, type GithubFake } from '../../../../../test/support/github-fake.ts';
import { GithubApiError, GithubClient } from './github-client.ts';

const TOKEN = 'ghp_client-test-token';
const SHA = 'd'.repeat(40);

describe('GithubClient against a local GitHub', () => {
  let github: GithubFake;
  let client: GithubClient;

  beforeAll(async () => {
    github = await startGithubFake({ token: TOKEN });
    client = new GithubClient({ apiUrl: `${github.url}/`, token: TOKEN });
  });
  afterAll(async () => {
    await github.close();
  });

  it('sets the idp/preview status with a description GitHub accepts (at most 140 characters)', async () => {
    await client.createStatus('acme/payments', SHA, {
      state: 'pending',
      targetUrl: null,
      description: 'x'.repeat(500),
    });
    const [call] = github.calls.slice(-1);
    expect(call).toMatchObject({ method: 'POST', path: `/repos/acme/payments/statuses/${SHA}`, answered: 201 });
    expect(call?.body).toEqual({ state: 'pending', context: 'idp/preview', description: 'x'.repeat(140) });
    expect(call?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('makes a comment, updates it, and says when it is gone', async () => {
    const id = await client.createComment('acme/payments', 7, 'first');
    expect(await client.updateComment('acme/payments', id, 'second')).toBe(true);
    expect(github.comments.get(Number(id))).toMatchObject({ body: 'second', updates: 1 });
    expect(await client.updateComment('acme/payments', '999999', 'x')).toBe(false);
    expect(await client.updateComment('acme/payments', '../1', 'x')).toBe(false);
  });

  it('refuses repository names and SHAs that would change the path, before any request', async () => {
    const before = github.calls.length;
    for (const repo of ['../etc', 'acme/..', 'acme/pay/ments', 'acme/pay?x=1', 'acme%2F..']) {
      await expect(client.createComment(repo, 1, 'x'), repo).rejects.toMatchObject({ retryable: false });
    }
    await expect(
      client.createStatus('acme/payments', '../../x', { state: 'success', targetUrl: null, description: '' }),
    ).rejects.toBeInstanceOf(GithubApiError);
    await expect(client.createComment('acme/payments', 0, 'x')).rejects.toBeInstanceOf(GithubApiError);
    expect(github.calls.length).toBe(before);
  });

  it('a refused token is retryable and the error never carries it', async () => {
    const wrong = new GithubClient({ apiUrl: github.url, token: 'not-the-token' });
    const err = (await wrong.createComment('acme/payments', 1, 'x').catch((e: unknown) => e)) as GithubApiError;
    expect(err).toBeInstanceOf(GithubApiError);
    expect(err).toMatchObject({ status: 401, retryable: true });
    expect(err.message).toContain('Bad credentials');
    expect(err.message).not.toContain('not-the-token');
  });

  it('a validation failure (422) is not retried', async () => {
    const err = (await client
      // GitHub answers 422 to a status with no state; the fake does the same.
      .createStatus('acme/payments', SHA, { state: '' as 'pending', targetUrl: null, description: '' })
      .catch((e: unknown) => e)) as GithubApiError;
    expect(err).toMatchObject({ status: 422, retryable: false });
  });
});

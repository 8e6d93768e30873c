import { describe, expect, it } from 'vitest';
import { COMMENT_MARKER, commentBody, commitStatus, duration, type CommentInput } from './comment.ts';

const SHA = 'a'.repeat(40);

function preview(over: Partial<CommentInput> = {}): CommentInput {
  return {
    repo: 'acme/payments',
    number: 12,
    env: 'pr-12-acme-payments',
    status: 'ready',
    headSha: SHA,
    headRef: 'feature/login',
    fork: false,
    trusted: false,
    services: [
      {
        service: 'payments-api',
        version: 'aaaaaaaaaaaa-0123456789ab',
        status: 'healthy',
        url: 'http://payments-api.pr-12-acme-payments.localhost:8080',
        deploymentId: 'dep_1',
      },
    ],
    note: null,
    startedAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:00:12.300Z',
    expiresAt: '2026-12-04T10:00:00.000Z',
    closedAt: null,
    deletedAt: null,
    ...over,
  };
}

describe('the preview comment', () => {
  it('names each service with its URL, the commit, the status, the time taken and when it goes', () => {
    const body = commentBody(preview());
    expect(body.startsWith(COMMENT_MARKER)).toBe(true);
    expect(body).toContain('✅ Ready');
    expect(body).toContain('| payments-api | <http://payments-api.pr-12-acme-payments.localhost:8080> | healthy |');
    expect(body).toContain('`aaaaaaaaaaaa`');
    expect(body).toContain('`feature/login`');
    expect(body).toContain('Time taken: 12.3 s.');
    expect(body).toContain('2026-12-04T10:00:00.000Z at the latest');
  });

  it('after teardown says when and how long it took, without the service table', () => {
    const body = commentBody(
      preview({ status: 'deleted', closedAt: '2026-12-01T11:00:00.000Z', deletedAt: '2026-12-01T11:00:04.000Z' }),
    );
    expect(body).toContain('🗑️ Torn down');
    expect(body).toContain('Torn down at 2026-12-01T11:00:04.000Z (in 4.0 s).');
    expect(body).not.toContain('| Service |');
  });

  it('says a fork runs without secrets until trusted, and not once trusted', () => {
    expect(commentBody(preview({ fork: true }))).toContain("without the base environment's secrets");
    expect(commentBody(preview({ fork: true, trusted: true }))).not.toContain('secrets');
  });

  it('escapes what the pull request controls: no HTML, links, mentions or code breaking out', () => {
    const body = commentBody(
      preview({
        status: 'failed',
        headRef: 'x`; rm -rf / #\n<script>',
        note: '<img src=x onerror=alert(1)> [click](http://evil) @org/team | `$(id)`',
        services: [{ service: 'api', version: null, status: 'failed', url: 'javascript:alert(1)', deploymentId: null }],
      }),
    );
    // Inside a code span, <script> is shown as text; everywhere else markup is escaped.
    expect(body).not.toMatch(/<img|\]\(http|@org|javascript:alert\(1\)>/);
    expect(body).toContain('`x ; rm -rf / # <script>`');
    expect(body).toContain('&#60;img src=x onerror=alert&#40;1&#41;&#62;');
    expect(body.split('\n').filter((l) => l.startsWith('| api |'))).toHaveLength(1);
  });
});

describe('the commit status', () => {
  it('is pending while deploying, success when ready, failure when failed, with the preview URL', () => {
    expect(commitStatus(preview({ status: 'deploying' }))).toEqual({
      state: 'pending',
      targetUrl: 'http://payments-api.pr-12-acme-payments.localhost:8080',
      description: 'Deploying aaaaaaa to pr-12-acme-payments',
    });
    expect(commitStatus(preview())?.state).toBe('success');
    expect(commitStatus(preview({ status: 'failed', note: 'head SHA not found' }))).toMatchObject({
      state: 'failure',
      description: 'Preview failed: head SHA not found',
    });
  });

  it('is not set for a preview torn down or skipped', () => {
    for (const status of ['deleting', 'deleted', 'skipped'] as const)
      expect(commitStatus(preview({ status }))).toBeNull();
  });
});

describe('duration', () => {
  it('reads seconds, minutes, and nothing for missing or reversed ends', () => {
    expect(duration('2026-01-01T00:00:00Z', '2026-01-01T00:02:05Z')).toBe('2 min 5 s');
    expect(duration(null, '2026-01-01T00:00:00Z')).toBeNull();
    expect(duration('2026-01-01T00:00:01Z', '2026-01-01T00:00:00Z')).toBeNull();
  });
});

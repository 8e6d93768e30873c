// A pull_request delivery's payload read into what the life cycle needs, each field checked and
// bounded: branch names and titles are kept as data (never reach a shell, SQL text or a name).
import { parseRepoFullName, type PullRequestEvent } from '@idp/core';

export interface PullRequestInfo {
  /** The base repository, owner/name. */
  repo: string;
  number: number;
  headSha: string;
  headRef: string;
  /** owner/name of the head repository (a fork's), or the base repository when it is gone. */
  headRepo: string;
  fork: boolean;
  title: string;
  author: string;
  /** GitHub login of the sender (who labeled, pushed, closed …). */
  sender: string;
  /** The event as the reducer reads it, with senderIsTeamMember still false. */
  event: PullRequestEvent;
}

const SHA = /^[0-9a-f]{40}$/;
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function text(v: unknown, max: number): string {
  return typeof v === 'string' ? v.slice(0, max) : '';
}

/** Reads the payload; the reason when a field the life cycle needs is missing or malformed. */
export function readPullRequest(
  payload: Record<string, unknown>,
): { ok: true; pr: PullRequestInfo } | { ok: false; reason: string } {
  const pr = obj(payload.pull_request);
  const repository = obj(payload.repository);
  if (!pr || !repository) return { ok: false, reason: 'the payload has no pull_request or repository' };
  const repo = text(repository.full_name, 201);
  if (!parseRepoFullName(repo)) return { ok: false, reason: 'repository.full_name is not owner/name' };
  const number = typeof payload.number === 'number' ? payload.number : pr.number;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1 || number > 2_147_483_647)
    return { ok: false, reason: 'the pull request number is missing or not a positive integer' };
  const head = obj(pr.head);
  const headSha = text(head?.sha, 64);
  if (!SHA.test(headSha)) return { ok: false, reason: 'pull_request.head.sha is not a commit id' };
  const headRepoObj = obj(head?.repo);
  const headRepoName = text(headRepoObj?.full_name, 201);
  // A deleted fork has head.repo null: its commits are still at refs/pull/<n>/head of the base.
  const headRepo = parseRepoFullName(headRepoName) ? headRepoName : repo;
  const fork = headRepo.toLowerCase() !== repo.toLowerCase() || headRepoObj?.fork === true;
  const labels = Array.isArray(pr.labels)
    ? pr.labels
        .slice(0, 100)
        .map((l) => text(obj(l)?.name, 100))
        .filter((l) => l !== '')
    : [];
  const label = text(obj(payload.label)?.name, 100) || null;
  const login = (v: unknown) => {
    const s = text(obj(v)?.login, 64);
    return LOGIN.test(s.replace(/\[bot\]$/, '')) ? s : '';
  };
  const action = text(payload.action, 40);
  return {
    ok: true,
    pr: {
      repo,
      number,
      headSha,
      headRef: text(head?.ref, 255),
      headRepo,
      fork,
      title: text(pr.title, 256),
      author: login(pr.user),
      sender: login(payload.sender),
      event: {
        action,
        open: pr.state === 'open',
        draft: pr.draft === true,
        headSha,
        fork,
        labels,
        label,
        senderIsTeamMember: false,
        merged: pr.merged === true,
      },
    },
  };
}

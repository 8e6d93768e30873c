import { IdpError } from '@idp/contracts';
import type { Preview, PreviewList } from '@idp/contracts';
import { ApiModule } from './api-module.ts';

/** A pull request as the CLI names it: `owner/name#number`. */
export interface PullRequestRef {
  repo: string;
  number: number;
}

const REF = /^([A-Za-z0-9_.-]{1,100})\/([A-Za-z0-9_.-]{1,100})#([1-9][0-9]{0,9})$/;

/** `acme/payments#12` → { repo: 'acme/payments', number: 12 }; anything else is VALIDATION_FAILED. */
export function parsePullRequestRef(text: string): PullRequestRef {
  const m = REF.exec(text.trim());
  const number = m ? Number(m[3]) : NaN;
  if (!m || m[1] === '.' || m[1] === '..' || m[2] === '.' || m[2] === '..' || number > 2_147_483_647) {
    throw new IdpError('VALIDATION_FAILED', `not a pull request: ${JSON.stringify(text)}`, {
      field: 'pr',
      hint: 'Name it as owner/name#number, e.g. acme/payments#12.',
    });
  }
  return { repo: `${m[1]}/${m[2]}`, number };
}

const previewUrl = (ref: PullRequestRef): string => {
  const [owner, name] = ref.repo.split('/') as [string, string];
  return `/api/previews/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/${ref.number}`;
};

/** Preview environments of pull requests. */
export class PreviewsApi extends ApiModule {
  listPreviews(filter: { repo?: string } = {}): Promise<PreviewList> {
    return this.http.request('GET', '/api/previews', { query: { repo: filter.repo } });
  }

  getPreview(ref: PullRequestRef): Promise<Preview> {
    return this.http.request('GET', previewUrl(ref));
  }

  /** Answers 202 at once; the head commit is deployed again in the background. */
  redeployPreview(ref: PullRequestRef): Promise<Preview> {
    return this.http.request('POST', `${previewUrl(ref)}/redeploy`);
  }

  /** Answers 202 at once; the teardown runs in the background. */
  deletePreview(ref: PullRequestRef): Promise<Preview> {
    return this.http.request('DELETE', previewUrl(ref));
  }
}

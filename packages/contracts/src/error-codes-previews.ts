import type { ErrorCodeSpec } from './error-spec.ts';

/** Preview environments and the GitHub webhook that drives them. */
export const PREVIEW_ERRORS = {
  WEBHOOK_SIGNATURE_INVALID: {
    status: 401,
    exit: 3,
    meaning:
      'The webhook delivery has no X-Hub-Signature-256, or it does not match the body with any configured secret; nothing was done.',
    hint: 'Set the same secret in the GitHub webhook and in previews.github.webhookSecret; after a rotation keep the old one in previousWebhookSecrets until GitHub sends with the new one.',
  },
  WEBHOOK_NOT_CONFIGURED: {
    status: 503,
    exit: 1,
    meaning: 'Previews are not configured: there is no webhook secret to check deliveries against.',
    hint: 'Configure previews.github.webhookSecret (and previews.repositories) in idp.config.yaml.',
  },
  WEBHOOK_PAYLOAD_INVALID: {
    status: 400,
    exit: 2,
    meaning:
      'The delivery is signed but is not JSON of the shape its X-GitHub-Event names, or is larger than the limit.',
    hint: 'Send the event as GitHub does (content type application/json); the limit is previews.github.maxBodyKiB.',
  },
  PREVIEW_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No preview for this pull request, or none you may see.',
    hint: 'Run `idp preview:list` for the previews of your teams.',
  },
  PREVIEW_SOURCE_UNAVAILABLE: {
    status: 502,
    exit: 1,
    meaning:
      "The pull request's head commit could not be fetched: the repository cannot be reached, or the commit is not in it (a force-push removed it).",
    hint: 'Check previews.repositories.<owner/name>.cloneUrl can be fetched by the idp server; push again to deploy the new head.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;

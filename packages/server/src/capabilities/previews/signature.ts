import { verify } from '@octokit/webhooks-methods';
import { resolveSecretRef, type PreviewsConfig } from '../../config/previews.ts';

/**
 * GitHub's delivery signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.
 * Checked on the raw bytes before anything is parsed, against the current secret and every
 * previous one (rotation). The comparison is @octokit/webhooks-methods' (crypto.timingSafeEqual),
 * and every secret is tried whichever matches, so the time taken does not tell which one did.
 */
const HEADER = /^sha256=[0-9a-f]{64}$/;

export interface WebhookSecrets {
  current: string;
  previous: string[];
}

/** The configured secrets, read now (a rotated file is picked up without a restart); undefined: none. */
export function webhookSecrets(cfg: PreviewsConfig, env: NodeJS.ProcessEnv = process.env): WebhookSecrets | undefined {
  const current = resolveSecretRef(cfg.github.webhookSecret, env);
  if (!current) return undefined;
  const previous = cfg.github.previousWebhookSecrets
    .map((ref) => resolveSecretRef(ref, env))
    .filter((s): s is string => !!s);
  return { current, previous };
}

/** Which secret signed the body ('current' | 'previous'), or null when none did or the header is malformed. */
export async function verifySignature(
  secrets: WebhookSecrets,
  body: Buffer,
  header: string | string[] | undefined,
): Promise<'current' | 'previous' | null> {
  if (typeof header !== 'string' || !HEADER.test(header) || body.length === 0) return null;
  // The HMAC is over bytes; a body that is not valid UTF-8 cannot be the string GitHub signed.
  const text = body.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(body)) return null;
  const current = await verify(secrets.current, text, header);
  let previous = false;
  for (const s of secrets.previous) {
    if (await verify(s, text, header)) previous = true;
  }
  if (current) return 'current';
  return previous ? 'previous' : null;
}

import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { IdpError } from '@idp/contracts';

/**
 * The `previews:` section of idp.config.yaml: GitHub webhook credentials (references, never the
 * values inline), where reports go, and which repositories get preview environments.
 */
const DURATION = /^[1-9][0-9]*(m|h|d)$/;
const NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Where a secret value comes from: an environment variable or a file readable only by its owner. */
export const SecretRefSchema = z.union([
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }).strict(),
  z.object({ file: z.string().min(1).describe('An absolute path to a file of mode 0600 (or 0400)') }).strict(),
]);
export type SecretRef = z.infer<typeof SecretRefSchema>;

const LabelsSchema = z
  .object({
    optOut: z.string().min(1).default('no-preview').describe('A pull request with this label has no preview'),
    trust: z
      .string()
      .min(1)
      .default('preview-trusted')
      .describe("Added by a member of the owning team, a fork's preview gets the base's secrets"),
  })
  .strict();

export const PreviewRepositorySchema = z
  .object({
    cloneUrl: z
      .string()
      .regex(/^(https?|ssh|git|file):\/\//, 'a git URL (https://, ssh://, git:// or file://)')
      .describe('Where the repository (with its refs/pull/<n>/head refs) is fetched from'),
    services: z
      .array(z.string().regex(/^[A-Za-z0-9._][A-Za-z0-9._/-]*$/, 'a folder inside the repository'))
      .optional()
      .describe('Folders holding .idp/deploy.yaml; default: every such folder found at the head commit'),
    base: z.string().regex(NAME, 'an environment name').default('staging').describe('The environment cloned'),
    ttl: z
      .string()
      .regex(DURATION, 'a duration such as 12h or 3d')
      .default('3d')
      .describe('A preview is reaped after this long'),
    maxOpen: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(10)
      .describe('Open previews at most; the oldest is reaped first'),
    team: z.string().regex(NAME, 'a Group name').describe('The Group that owns the preview environments'),
    actAs: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The catalog User (a member of team, e.g. a bot user) previews are made as: owner of the environments, subject to the same policies; unset: previews fail with a note saying so',
      ),
    labels: LabelsSchema.default({ optOut: 'no-preview', trust: 'preview-trusted' }),
    drafts: z.boolean().default(false).describe('true: draft pull requests get previews too'),
    placeholders: z
      .record(
        z.string().regex(/^([A-Za-z0-9._-]+\/)?[A-Za-z_][A-Za-z0-9_]*$/, 'a secret name (KEY or service/KEY)'),
        z.string().min(1).max(4096),
      )
      .default({})
      .describe(
        "Test values for a fork's untrusted preview, by secret name; every other secret of the base gets the value `placeholder` (never the base's value)",
      ),
  })
  .strict();
export type PreviewRepositoryConfig = z.infer<typeof PreviewRepositorySchema>;

/** A GitHub App's credentials: its id (or client id), its private key (a reference), and optionally where it is installed. */
const GithubAppSchema = z
  .object({
    appId: z
      .union([
        z.number().int().positive(),
        z.string().regex(/^([1-9][0-9]{0,19}|Iv[0-9A-Za-z.]{1,60})$/, 'the App ID (digits) or its client ID (Iv…)'),
      ])
      .describe("The App ID (or client ID) from the App's settings page"),
    privateKey: SecretRefSchema.describe("The App's private key (PEM), as generated on its settings page"),
    installationId: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("The App's installation on the repositories' account; unset: looked up per repository"),
  })
  .strict();
export type GithubAppConfig = z.infer<typeof GithubAppSchema>;

export const PreviewsSchema = z
  .object({
    github: z
      .object({
        webhookSecret: SecretRefSchema.optional().describe(
          'The webhook secret; unset: POST /api/webhooks/github answers 503 WEBHOOK_NOT_CONFIGURED',
        ),
        previousWebhookSecrets: z
          .array(SecretRefSchema)
          .default([])
          .describe('Still accepted while GitHub is switched to the new secret (rotation)'),
        apiUrl: z
          .url({ protocol: /^https?$/, error: 'an http(s) URL' })
          .default('https://api.github.com')
          .describe('The GitHub REST API commit statuses and comments go to'),
        token: SecretRefSchema.optional().describe(
          'For statuses and comments (or app instead); neither set: reports are skipped (noted)',
        ),
        app: GithubAppSchema.optional().describe('A GitHub App the reports are sent as (instead of token)'),
        maxBodyKiB: z.number().int().min(1).max(25_600).default(1024).describe('Largest webhook body accepted (KiB)'),
      })
      .strict()
      .refine((g) => !(g.token && g.app), {
        message: 'set token or app, not both: reports are sent with one credential',
        path: ['app'],
      })
      .default({ previousWebhookSecrets: [], apiUrl: 'https://api.github.com', maxBodyKiB: 1024 }),
    repositories: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'owner/name as GitHub spells it'),
        PreviewRepositorySchema,
      )
      .default({})
      .describe('Repositories whose pull requests get preview environments; others are ignored (recorded)'),
  })
  .strict();
export type PreviewsConfig = z.infer<typeof PreviewsSchema>;

export const PREVIEWS_DEFAULTS: PreviewsConfig = PreviewsSchema.parse({});

/**
 * Reads a secret reference. An unset variable or a missing file yields undefined (not configured);
 * a file readable by group or others is refused.
 */
export function resolveSecretRef(ref: SecretRef | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!ref) return undefined;
  if ('env' in ref) {
    const v = env[ref.env];
    return v === undefined || v === '' ? undefined : v;
  }
  let mode: number;
  try {
    mode = statSync(ref.file).mode;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) !== 0) {
    throw new IdpError('CONFIG_INVALID', `${ref.file} is readable by others (mode ${(mode & 0o777).toString(8)})`, {
      hint: `chmod 600 ${ref.file}`,
    });
  }
  const v = readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
  return v === '' ? undefined : v;
}

/** Finds a repository's settings; GitHub's owner/name comparisons are case-insensitive. */
export function previewRepository(
  cfg: PreviewsConfig,
  fullName: string,
): { name: string; repo: PreviewRepositoryConfig } | undefined {
  const want = fullName.toLowerCase();
  for (const [name, repo] of Object.entries(cfg.repositories)) {
    if (name.toLowerCase() === want) return { name, repo };
  }
  return undefined;
}

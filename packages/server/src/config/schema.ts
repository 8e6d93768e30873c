import { z } from 'zod';
import { FetchRules } from '../capabilities/catalog/fetch-rules.ts';
import { OBSERVABILITY_DEFAULTS, ObservabilitySchema } from './observability.ts';
import { TEMPLATES_DEFAULTS, TemplatesSchema } from './templates.ts';
import { PREVIEWS_DEFAULTS, PreviewsSchema } from './previews.ts';

/**
 * idp.config.yaml. Strict objects so that a misspelt key is an error at start-up rather than a
 * setting that silently does nothing. Relative paths resolve against the config file's folder.
 */
function duration(fallback: string) {
  return z
    .string()
    .regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration such as 30s, 5m, 2h or 7d')
    .default(fallback);
}

export const ConfigSchema = z
  .object({
    organization: z
      .object({ name: z.string().min(1).describe('Shown in the CLI and portal') })
      .strict()
      .default({ name: 'idp' }),
    auth: z
      .object({
        adminGroup: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Group name (DNS-1123 label)')
          .default('platform')
          .describe('Members of this Group (and of its child groups) are platform admins'),
        tokenTtl: z
          .string()
          .regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration such as 30d')
          .default('30d')
          .describe('Default lifetime of API tokens made by `idp token:create`'),
        rateLimit: z
          .object({
            unauthenticatedPerMinute: z
              .number()
              .int()
              .min(1)
              .default(60)
              .describe(
                'Requests with no or an invalid token one client address may make per minute; more get 429 RATE_LIMITED with Retry-After. Requests with a valid token are never limited by this',
              ),
            burst: z
              .number()
              .int()
              .min(1)
              .default(20)
              .describe('How many such requests a client may make at once before the per-minute rate applies'),
          })
          .strict()
          .default({ unauthenticatedPerMinute: 60, burst: 20 })
          .describe(
            'Per-client limit on unauthenticated requests (token bucket); their denials are collapsed in the audit log',
          ),
      })
      .strict()
      .default({ adminGroup: 'platform', tokenTtl: '30d', rateLimit: { unauthenticatedPerMinute: 60, burst: 20 } }),
    catalog: z
      .object({
        locations: z
          .array(z.string().min(1))
          .default([])
          .describe(
            'Catalog locations read at start-up: catalog-info files, folders (every catalog-info.yaml below), http(s) URLs or git repositories',
          ),
        refreshInterval: z
          .string()
          .regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration such as 5m')
          .default('5m')
          .describe('How often every location is read again'),
        oncall: z
          .record(z.string(), z.string().min(1))
          .default({})
          .describe(
            'On-call rota: Group name (or ref) → where to page (email, pager service, …); wins over group annotations',
          ),
        identitySources: z
          .array(z.string().min(1))
          .optional()
          .describe(
            'Which of `locations` are identity sources (their User and Group entities make the directory); absent: all of them. Users and Groups from other locations are refused',
          ),
        fetch: z
          .object({
            allowHosts: z
              .array(
                z
                  .string()
                  .refine(
                    FetchRules.isValidEntry,
                    'a host name (or *.domain), an IP address or a CIDR range such as 10.0.0.0/8',
                  ),
              )
              .default([])
              .describe(
                "Non-public addresses (loopback, private, link-local, …) that URL and git locations registered by non-admins may fetch from: host names, IP addresses or CIDR ranges. Public addresses need no entry; config and admins' locations are not checked",
              ),
          })
          .strict()
          .default({ allowHosts: [] })
          .describe('Outbound fetches of catalog locations'),
      })
      .strict()
      .default({ locations: [], refreshInterval: '5m', oncall: {}, fetch: { allowHosts: [] } }),
    secrets: z
      .object({
        productionEnvironments: z
          .array(z.string().regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, 'an environment name (DNS-1123 label)'))
          .default(['production'])
          .describe('Environments whose secrets are production tier: reads need an active access grant'),
      })
      .strict()
      .default({ productionEnvironments: ['production'] }),
    access: z
      .object({
        webhookUrl: z
          .url({ protocol: /^https?$/, error: 'an http(s) URL' })
          .optional()
          .describe(
            'Slack-compatible incoming webhook: POSTed {text, blocks} when a request needs a decision and when one is made',
          ),
        pendingTtl: z
          .string()
          .regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration such as 24h')
          .default('24h')
          .describe('A pending request nobody decides within this long expires'),
        defaultDuration: z
          .string()
          .regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration such as 1h')
          .default('1h')
          .describe('Grant length when `idp access:request` gives no --duration (the policies set the maximum)'),
        sweepInterval: z
          .string()
          .regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration such as 30s')
          .default('30s')
          .describe('How often ended grants and stale requests are marked expired (and audited)'),
      })
      .strict()
      .default({ pendingTtl: '24h', defaultDuration: '1h', sweepInterval: '30s' }),
    postgres: z
      .object({
        adminUrl: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
          .optional()
          .describe(
            "A PostgreSQL superuser (or CREATEDB + CREATEROLE) URL: base databases live here and environments' databases are made here. IDP_POSTGRES_ADMIN_URL overrides it",
          ),
      })
      .strict()
      .default({}),
    redis: z
      .object({
        url: z
          .string()
          .regex(/^rediss?:\/\//, 'a redis:// URL')
          .optional()
          .describe(
            "A Redis 6+ server with ACLs (an admin connection): base keyspaces live here and environments' keyspaces are made here. IDP_REDIS_URL overrides it",
          ),
      })
      .strict()
      .default({}),
    environments: z
      .object({
        defaultTtl: duration('7d').describe(
          'Lifetime of an environment made without --ttl (the policies set the maximum)',
        ),
        reapInterval: duration('1m').describe('How often expired environments are looked for and deleted'),
        notifyBefore: duration('24h').describe(
          'The owner is notified (webhook) this long before the environment expires',
        ),
        snapshotRefresh: duration('10m').describe(
          'How often base databases are checked for changes; a changed one gets a new snapshot for later clones',
        ),
        webhookUrl: z
          .url({ protocol: /^https?$/, error: 'an http(s) URL' })
          .optional()
          .describe('Slack-compatible incoming webhook for expiry warnings and reaper deletions'),
        base: z
          .record(
            z
              .string()
              .regex(
                /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/,
                'an environment name (DNS-1123 label, at most 40 characters)',
              ),
            z
              .object({
                tier: z
                  .enum(['production', 'staging', 'development'])
                  .default('staging')
                  .describe('production: its secrets need an access grant and it cannot be cloned by default'),
                owner: z.string().optional().describe('The Group that owns it (platform admins when unset)'),
                database: z
                  .string()
                  .regex(/^[a-z_][a-z0-9_-]{0,62}$/, 'a PostgreSQL database name (lower-case letters, digits, _ and -)')
                  .optional()
                  .describe('Its PostgreSQL database; clones get a copy'),
                redisPrefix: z
                  .string()
                  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}:$/, 'a key prefix ending in ":" (e.g. "staging:")')
                  .optional()
                  .describe('Its Redis keyspace (a key prefix); clones get a copy of these keys with their TTLs'),
                seed: z
                  .object({
                    sql: z.string().optional().describe('SQL file run on the database when idp first creates it'),
                    redis: z
                      .string()
                      .optional()
                      .describe('JSON file {key: value | {value, ttl}} written when the keyspace is empty'),
                    secrets: z
                      .string()
                      .optional()
                      .describe('YAML file {"<service>/<KEY>": value} set when the environment has no secrets'),
                  })
                  .strict()
                  .optional()
                  .describe('Demo data written on first start'),
              })
              .strict(),
          )
          .default({})
          .describe('Base environments: never reaped, the sources of env:create --from'),
      })
      .strict()
      .default({ defaultTtl: '7d', reapInterval: '1m', notifyBefore: '24h', snapshotRefresh: '10m', base: {} }),
    deployments: z
      .object({
        freezes: z
          .array(
            z
              .object({
                from: z.iso.datetime({ offset: true }).describe('Start (ISO 8601)'),
                to: z.iso.datetime({ offset: true }).describe('End (ISO 8601)'),
                environments: z.array(z.string()).optional().describe('Only these environments (all when unset)'),
                reason: z.string().optional(),
              })
              .strict(),
          )
          .default([])
          .describe('Deploy freeze windows: no deploy:create while one covers now (rollbacks and aborts still work)'),
        releases: z
          .object({
            maxUploadMiB: z
              .number()
              .int()
              .min(1)
              .max(10_240)
              .default(100)
              .describe('Largest release archive accepted, as uploaded (MiB)'),
            maxUnpackedMiB: z
              .number()
              .int()
              .min(1)
              .max(102_400)
              .default(256)
              .describe('Largest sum of file sizes a release unpacks to (MiB)'),
            maxFiles: z
              .number()
              .int()
              .min(1)
              .max(1_000_000)
              .default(20_000)
              .describe('Most files and directories in a release'),
          })
          .strict()
          .default({ maxUploadMiB: 100, maxUnpackedMiB: 256, maxFiles: 20_000 })
          .describe('Release upload limits: an archive over one is refused while it streams (RELEASE_TOO_LARGE)'),
      })
      .strict()
      .default({ freezes: [], releases: { maxUploadMiB: 100, maxUnpackedMiB: 256, maxFiles: 20_000 } }),
    runtime: z
      .object({
        isolation: z
          .enum(['sandbox', 'none'])
          .default('sandbox')
          .describe(
            "sandbox: every build and replica runs as its own unprivileged user in a bubblewrap sandbox (apt-get install -y bubblewrap; the control plane runs as root). none: they run as the control plane's user and can read its data dir, keys and other workloads",
          ),
        buildCacheSeed: z
          .string()
          .min(1)
          .optional()
          .describe(
            "An npm cache (e.g. /root/.npm) whose packages each team's build cache starts from (linked, not shared for writing); default: the control plane's own npm cache",
          ),
      })
      .strict()
      .default({ isolation: 'sandbox' }),
    policies: z
      .object({
        paths: z.array(z.string().min(1)).default([]).describe('Extra .cedar files or folders'),
        replaceDefaults: z
          .boolean()
          .default(false)
          .describe('true: only the policies in `paths` apply; the shipped policies/ are ignored'),
      })
      .strict()
      .default({ paths: [], replaceDefaults: false }),
    observability: ObservabilitySchema.default(OBSERVABILITY_DEFAULTS).describe(
      'Metrics (a real Prometheus), the query gate, logs and what each team sees',
    ),
    templates: TemplatesSchema.default(TEMPLATES_DEFAULTS).describe(
      'Golden paths: where publish:git may push, task workspaces and render limits',
    ),
    previews: PreviewsSchema.default(PREVIEWS_DEFAULTS).describe(
      'Preview environments from pull requests: the GitHub webhook, where reports go, which repositories',
    ),
  })
  .strict();

export type IdpConfig = z.infer<typeof ConfigSchema>;

import { z } from 'zod';

/**
 * idp.config.yaml. Strict objects so that a misspelt key is an error at start-up rather than a
 * setting that silently does nothing. Relative paths resolve against the config file's folder.
 */
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
      })
      .strict()
      .default({ adminGroup: 'platform', tokenTtl: '30d' }),
    catalog: z
      .object({
        locations: z
          .array(z.string().min(1))
          .default([])
          .describe('Catalog locations read at start-up: catalog-info files, folders (every catalog-info.yaml below), http(s) URLs or git repositories'),
        refreshInterval: z
          .string()
          .regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration such as 5m')
          .default('5m')
          .describe('How often every location is read again'),
        oncall: z
          .record(z.string(), z.string().min(1))
          .default({})
          .describe('On-call rota: Group name (or ref) → where to page (email, pager service, …); wins over group annotations'),
      })
      .strict()
      .default({ locations: [], refreshInterval: '5m', oncall: {} }),
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
          .describe('Slack-compatible incoming webhook: POSTed {text, blocks} when a request needs a decision and when one is made'),
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
  })
  .strict();

export type IdpConfig = z.infer<typeof ConfigSchema>;

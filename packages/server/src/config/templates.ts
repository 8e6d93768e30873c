import { z } from 'zod';

/**
 * The `templates:` section of idp.config.yaml (golden paths): where publish:git may push, where
 * tasks keep their workspaces, and the limits every render and workspace is held to.
 */
export const TemplatesSchema = z
  .object({
    publish: z
      .object({
        git: z
          .object({
            allowedRemotes: z
              .array(z.string().min(1))
              .default([])
              .describe(
                'URL prefixes publish:git may push to (e.g. file:///srv/git/ or https://git.example.com/acme/); none: publish:git is not configured',
              ),
          })
          .strict()
          .default({ allowedRemotes: [] }),
      })
      .strict()
      .default({ git: { allowedRemotes: [] } }),
    workspaces: z
      .string()
      .min(1)
      .optional()
      .describe("Where each task's workspace is made (<dir>/<task id>); default <data-dir>/tasks"),
    workspaceTtl: z
      .string()
      .regex(/^[1-9][0-9]*(m|h|d)$/, 'a duration such as 30m, 12h or 7d')
      .default('7d')
      .describe("How long a failed task's workspace is kept for a retry before it is removed"),
    limits: z
      .object({
        renderTimeoutMs: z.number().int().min(10).max(60_000).default(2000).describe('Per render'),
        renderMemoryMiB: z.number().int().min(16).max(1024).default(64).describe('Per render (the sandbox heap)'),
        maxFiles: z.number().int().min(1).max(100_000).default(2000).describe("Files in a task's workspace"),
        maxBytesMiB: z.number().int().min(1).max(4096).default(50).describe("Bytes in a task's workspace"),
      })
      .strict()
      .default({ renderTimeoutMs: 2000, renderMemoryMiB: 64, maxFiles: 2000, maxBytesMiB: 50 }),
  })
  .strict();

export type TemplatesConfig = z.infer<typeof TemplatesSchema>;

export const TEMPLATES_DEFAULTS: TemplatesConfig = TemplatesSchema.parse({});

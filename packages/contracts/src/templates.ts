import { z } from 'zod';

/**
 * Golden paths: Backstage Software Templates (scaffolder.backstage.io/v1beta3) read from the
 * catalog, run as durable tasks of steps. Shapes follow Backstage's scaffolder API where it has
 * one (task status names, dry-run files, output links and text), so its users find their way.
 */

export const TemplateSummary = z
  .object({
    ref: z.string().describe('The entity ref, e.g. template:default/node-service'),
    name: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    owner: z.string().nullable().describe('spec.owner as an entity ref, e.g. group:default/platform'),
    type: z.string().nullable().describe('spec.type, e.g. service, website'),
    tags: z.array(z.string()),
  })
  .meta({ id: 'TemplateSummary' });
export type TemplateSummary = z.infer<typeof TemplateSummary>;

export const TemplateList = z.object({ items: z.array(TemplateSummary) }).meta({ id: 'TemplateList' });
export type TemplateList = z.infer<typeof TemplateList>;

/** One parameter of the merged schema, for tables and forms. */
export const TemplateParameter = z.object({
  name: z.string().describe('The property name (a top-level key of parameters)'),
  page: z.number().int().describe('Which form page (1-based) declares it'),
  title: z.string().nullable(),
  description: z.string().nullable(),
  type: z.string().nullable().describe('JSON Schema type, e.g. string, number, boolean, array, object'),
  required: z.boolean(),
  default: z.unknown().optional(),
  enum: z.array(z.unknown()).optional(),
  pattern: z.string().optional(),
});
export type TemplateParameter = z.infer<typeof TemplateParameter>;

export const TemplateDetail = TemplateSummary.extend({
  parameters: z.array(TemplateParameter),
  pages: z
    .array(z.record(z.string(), z.unknown()))
    .describe('spec.parameters as written, one JSON Schema object per page (ui:* keys kept for forms)'),
  schema: z
    .record(z.string(), z.unknown())
    .describe('The pages merged into the one JSON Schema the values are validated against'),
  steps: z.array(z.object({ id: z.string(), name: z.string().nullable(), action: z.string() })),
}).meta({ id: 'TemplateDetail' });
export type TemplateDetail = z.infer<typeof TemplateDetail>;

export const CreateTaskRequest = z
  .object({
    values: z.record(z.string(), z.unknown()).default({}).describe('The parameters, validated against the schema'),
    dryRun: z
      .boolean()
      .default(false)
      .describe('true: render and run the steps in a scratch workspace with no side effects; answers the files'),
  })
  .strict();
export type CreateTaskRequest = z.infer<typeof CreateTaskRequest>;

export const TASK_STATUSES = ['open', 'processing', 'completed', 'failed', 'cancelled'] as const;
export const TaskStatus = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const TASK_STEP_STATUSES = ['pending', 'running', 'completed', 'failed', 'skipped', 'cancelled'] as const;
export const TaskStepStatus = z.enum(TASK_STEP_STATUSES);
export type TaskStepStatus = z.infer<typeof TaskStepStatus>;

export const TaskStep = z.object({
  id: z.string(),
  name: z.string().nullable(),
  action: z.string(),
  status: TaskStepStatus,
  attempts: z.number().int().describe('How many times it was started (more than 1 after a retry or a restart)'),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  output: z.record(z.string(), z.unknown()).describe('What the step produced (steps.<id>.output)'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type TaskStep = z.infer<typeof TaskStep>;

export const TaskOutputLink = z.object({
  title: z.string().nullable(),
  url: z.string().nullable(),
  entityRef: z.string().nullable(),
  icon: z.string().nullable(),
});
export const TaskOutput = z.object({
  links: z.array(TaskOutputLink),
  text: z.array(z.object({ title: z.string().nullable(), content: z.string() })),
});
export type TaskOutput = z.infer<typeof TaskOutput>;

export const Task = z
  .object({
    id: z.string(),
    template: z.string().describe('The template entity ref'),
    createdBy: z.string().describe('The user ref the task runs as'),
    status: TaskStatus,
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    values: z.record(z.string(), z.unknown()),
    steps: z.array(TaskStep),
    output: TaskOutput.nullable().describe('spec.output rendered, once the task completed'),
    error: z.object({ code: z.string(), message: z.string(), step: z.string().nullable() }).nullable(),
  })
  .meta({ id: 'Task' });
export type Task = z.infer<typeof Task>;

export const TaskList = z.object({ items: z.array(Task) }).meta({ id: 'TaskList' });
export type TaskList = z.infer<typeof TaskList>;

export const TaskLogEntry = z.object({
  seq: z.number().int().describe('Increasing per task; GET …/logs?after=<seq> continues from there'),
  at: z.string(),
  step: z.string().nullable(),
  level: z.enum(['info', 'warn', 'error']),
  message: z.string(),
});
export type TaskLogEntry = z.infer<typeof TaskLogEntry>;

export const TaskLog = z.object({ items: z.array(TaskLogEntry) });
export type TaskLog = z.infer<typeof TaskLog>;

export const DryRunFile = z.object({
  path: z.string().describe('Relative to the workspace'),
  content: z.string().describe('UTF-8 text, or base64 when `base64` is true'),
  base64: z.boolean(),
  executable: z.boolean(),
});
export const DryRunResult = z
  .object({
    files: z.array(DryRunFile),
    steps: z.array(TaskStep),
    log: z.array(TaskLogEntry),
    output: TaskOutput.nullable(),
  })
  .meta({ id: 'DryRunResult' });
export type DryRunResult = z.infer<typeof DryRunResult>;

// What the templates capability is built from: the platform's services, the renderer and the actions.
import type { Kysely } from 'kysely';
import type { TemplateParameter } from '@idp/contracts';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock, IdSource } from '../../clock.ts';
import type { Directory } from '../../identity/index.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import type { SecretCipher } from '../secrets/crypto.ts';
import type { Renderer, TemplateAction } from './types.ts';

export interface ActionLookup {
  /** The action of this id; throws TEMPLATE_ACTION_UNKNOWN / TEMPLATE_ACTION_NOT_CONFIGURED naming the step. */
  get(id: string, stepId?: string): TemplateAction;
}

export interface ParameterSchemas {
  /** Applies defaults and validates; throws TEMPLATE_PARAMETERS_INVALID listing every problem. */
  validate(pages: Record<string, unknown>[], values: Record<string, unknown>): Record<string, unknown>;
  /** The pages merged into one JSON Schema, and the parameters as a table. */
  describe(pages: Record<string, unknown>[]): { schema: Record<string, unknown>; parameters: TemplateParameter[] };
}

export interface TemplatesSettings {
  /** Each task's workspace is <workspaces>/<task id>. */
  workspaces: string;
  /** How long a failed task's workspace is kept, in seconds. */
  workspaceTtlSeconds: number;
  maxFiles: number;
  maxBytes: number;
}

export interface TemplatesDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  gate: PolicyGate;
  directory: Directory;
  clock: Clock;
  ids: IdSource;
  cipher: SecretCipher;
  renderer: Renderer;
  actions: ActionLookup;
  parameters: ParameterSchemas;
  settings: TemplatesSettings;
  log: (line: string) => void;
}

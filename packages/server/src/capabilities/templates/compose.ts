// Builds the golden-path engine for the control plane: the sandboxed renderer, idp's actions wired
// to the services they act through, and the task service. The caller registers the stops.
import { join, resolve } from 'node:path';
import { parseDuration } from '@idp/core';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock, IdSource } from '../../clock.ts';
import type { TemplatesConfig } from '../../config/templates.ts';
import type { Directory } from '../../identity/index.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Store } from '../../store/index.ts';
import type { CatalogService } from '../catalog/service.ts';
import type { DeploymentService, Releases } from '../deployments/index.ts';
import type { EnvironmentService } from '../environments/index.ts';
import type { SecretCipher } from '../secrets/crypto.ts';
import type { TokenService } from '../tokens/service.ts';
import { createActionRegistry } from './actions/index.ts';
import { createRenderer } from './render/renderer.ts';
import { TemplateService } from './service.ts';
import { parameterSchemas } from './parameters.ts';

const MIB = 1024 * 1024;

export interface ComposeTemplatesDeps {
  store: Store;
  audit: AuditLog;
  gate: PolicyGate;
  directory: Directory;
  clock: Clock;
  ids: IdSource;
  cipher: SecretCipher;
  tokens: TokenService;
  catalog: CatalogService;
  environments: EnvironmentService;
  deployments: DeploymentService;
  releases: Releases;
  config: TemplatesConfig;
  baseDir: string;
  dataDir: string;
  log: (line: string) => void;
}

export function composeTemplates(deps: ComposeTemplatesDeps): {
  templates: TemplateService;
  closeRenderer: () => Promise<void>;
} {
  const { config } = deps;
  const limits = { maxFiles: config.limits.maxFiles, maxBytes: config.limits.maxBytesMiB * MIB };
  const renderer = createRenderer({
    timeoutMs: config.limits.renderTimeoutMs,
    memoryMb: config.limits.renderMemoryMiB,
  });
  const actions = createActionRegistry({
    catalog: deps.catalog,
    environments: deps.environments,
    deployments: {
      upload: (ctx, req, body) => deps.releases.upload(ctx, req, body),
      create: (ctx, req) => deps.deployments.create(ctx, req),
      get: (ctx, id) => deps.deployments.get(ctx, id),
    },
    allowedRemotes: config.publish.git.allowedRemotes,
    limits,
    gitCheckout: (origin, target) => deps.catalog.checkoutGit(origin, target),
  });
  const templates = new TemplateService({
    db: deps.store.db,
    audit: deps.audit,
    gate: deps.gate,
    directory: deps.directory,
    clock: deps.clock,
    ids: deps.ids,
    cipher: deps.cipher,
    renderer,
    actions,
    parameters: parameterSchemas(),
    settings: {
      workspaces: config.workspaces ? resolve(deps.baseDir, config.workspaces) : join(deps.dataDir, 'tasks'),
      workspaceTtlSeconds: parseDuration(config.workspaceTtl, 'templates.workspaceTtl'),
      ...limits,
    },
    principalFor: (ref) => deps.tokens.principalFor(ref, null),
    log: deps.log,
  });
  return { templates, closeRenderer: () => renderer.close() };
}

// The deploy.yaml validation result: the valid line with its strategy, the inferred notes, the Node.js warning, the JSON shape.
import type { DeclaredDeploySpec, DeployProblem, InferredNote, NodeCheck } from '@idp/core';
import { formatPause } from './deploy-format-figures.ts';

/** `canary 10% for 5m → 50% until promoted → 100%`, `rolling`, `recreate`. */
export function formatStrategy(spec: DeclaredDeploySpec): string {
  const { strategy, canary } = spec.deploy;
  if (strategy !== 'canary') return strategy;
  const steps = canary.map((step, index) => {
    if (step.pauseSeconds !== null) return `${step.weight}% for ${formatPause(step.pauseSeconds)}`;
    return index === canary.length - 1 ? `${step.weight}%` : `${step.weight}% until promoted`;
  });
  return `canary ${steps.join(' → ')}`;
}

/** `✓ .idp/deploy.yaml is valid (service payments-api, team payments, strategy canary …)`. */
export function formatValid(file: string, spec: DeclaredDeploySpec): string {
  return `✓ ${file} is valid (service ${spec.service.name}, team ${spec.service.team}, strategy ${formatStrategy(spec)})`;
}

/** Same text as core's formatInferred, without loading core for it. */
export function formatInferredNote(note: InferredNote, runtimeNode?: string): string {
  if (note.field === 'node')
    return `node: ${note.value} (from package.json engines${runtimeNode ? `; runtime has ${runtimeNode}` : ''})`;
  return `${note.field}: ${note.value} (inferred from ${note.from})`;
}

/** A warning when package.json's engines.node excludes (or cannot be read against) the runtime's Node.js. */
export function formatNodeWarning(check: NodeCheck): string | undefined {
  switch (check.status) {
    case 'ok':
      return undefined;
    case 'excluded':
      return `Warning: package.json wants Node.js ${check.range} (engines.node), but the runtime has ${check.version}; the control plane will refuse the deploy (DEPLOY_NODE_UNSUPPORTED). Widen engines.node to include ${check.version}.`;
    case 'unreadable':
      return `Warning: package.json's engines.node "${check.range}" is not a semver range; it is not checked against the runtime's ${check.version}.`;
  }
}

/** What `idp deploy:validate -o json` prints. */
export interface ValidationResult {
  valid: boolean;
  file: string;
  problems: DeployProblem[];
  /** The spec with what was inferred filled in (or as declared, when run could not be inferred). */
  spec: DeclaredDeploySpec | null;
  /** What would be inferred from the service directory: run, build, node. */
  inferred: InferredNote[];
  /** package.json's engines.node against this machine's `node --version`; null without one. */
  node: NodeCheck | null;
  /** Whether the service and team were checked against the catalog (false: skipped, see the note). */
  catalogChecked: boolean;
}

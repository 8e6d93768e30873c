import { readFileSync } from 'node:fs';
import { Args } from '@oclif/core';
import { IdpError, type ErrorCode } from '@idp/contracts';
import type { DeclaredDeploySpec, DeployProblem } from '@idp/core';
import { BaseCommand } from '../../base-command.ts';
import {
  catalogProblems,
  formatInferredNote,
  formatNodeWarning,
  formatValid,
  loadDeployCore,
  yamlPosition,
  type CatalogFacts,
  type ValidationResult,
} from '../../deploy-format.ts';
import { inferLocally, type LocalInference } from '../../deploy-infer.ts';
import { displayPath, findDeployFile } from '../../deploy-source.ts';

export default class DeployValidate extends BaseCommand<typeof DeployValidate> {
  static override summary =
    'Check a .idp/deploy.yaml: every problem with file:line:column, the field, what was expected and "did you mean".';
  static override description = [
    'Reads the file from disk (PATH is the service directory or the file itself) and reports every problem at once,',
    'in the file:line:column form editors and CI annotate; exit 2 when there is any. When you are logged in and the',
    'control plane answers, it also checks that service.name is a Component in the catalog and service.team its',
    'owner; otherwise that check is skipped with a note. When the file leaves `run` out, it shows what would be',
    "inferred from the service directory (a Procfile's web: line, else `npm start` from package.json scripts.start,",
    "with the build from package.json), and checks package.json's engines.node against this machine's Node.js",
    '(a warning here; the control plane refuses the deploy). `idp deploy:schema` gives the JSON Schema for editors.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> services/payments-api',
    {
      description: 'The result as JSON: {valid, file, problems, spec, inferred, node, catalogChecked}.',
      command: '<%= config.bin %> <%= command.id %> .idp/deploy.yaml -o json',
    },
  ];
  static override args = {
    path: Args.string({ description: 'The service directory or its deploy.yaml.', default: '.' }),
  };

  async run(): Promise<void> {
    const file = findDeployFile(this.args.path);
    const label = displayPath(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new IdpError('USAGE', `cannot read ${label}: ${(err as Error).message}`, {
        hint: 'Check the path and its permissions.',
      });
    }

    const core = await loadDeployCore();
    const parsed = core.parseDeploySpec(text, label);
    const problems: DeployProblem[] = parsed.ok ? [] : [...parsed.problems];
    let catalogChecked = false;
    let inference: LocalInference | undefined;
    if (parsed.ok) {
      inference = await inferLocally(parsed.spec, file, label, await yamlPosition(text, ['run']));
      if (inference.problem) problems.push(inference.problem);
      const facts = await this.catalogFacts(parsed.spec);
      if (facts) {
        catalogChecked = true;
        const at = {
          name: await yamlPosition(text, ['service', 'name']),
          team: await yamlPosition(text, ['service', 'team']),
        };
        problems.push(...catalogProblems(label, parsed.spec, facts, at));
        if (problems.length === 0)
          this.info(`✓ ${parsed.spec.service.name} is in the catalog, owned by ${parsed.spec.service.team}.`);
      }
    }

    const result: ValidationResult = {
      valid: problems.length === 0,
      file: label,
      problems,
      spec: inference?.spec ?? (parsed.ok ? parsed.spec : null),
      inferred: inference?.inferred ?? [],
      node: inference?.node ?? null,
      catalogChecked,
    };
    const warning = result.node ? formatNodeWarning(result.node) : undefined;
    if (warning) this.info(warning);
    if (this.outputFormat !== 'table') {
      await this.render(result, { kind: 'text', text: () => '' });
      if (!result.valid) process.exitCode = 2;
      return;
    }
    if (result.valid) {
      await this.render(result, { kind: 'text', text: () => formatValid(label, result.spec!) });
      // What was inferred is a note beside the verdict (stderr); -o json carries it as `inferred`.
      for (const note of result.inferred) this.info(formatInferredNote(note, result.node?.version));
      return;
    }
    await this.render(result, { kind: 'text', text: () => core.formatProblems(problems) });
    const code = errorCodeFor(problems, parsed.ok);
    throw new IdpError(code, `${label} has ${problems.length === 1 ? '1 problem' : `${problems.length} problems`}`, {
      file: label,
      ...(code === 'DEPLOY_SPEC_INVALID'
        ? {
            hint: 'Fix each problem at its file:line:column and run this again; `idp deploy:schema` gives the JSON Schema for your editor.',
          }
        : code === 'DEPLOY_RUN_NOT_INFERRED'
          ? { hint: problems.find((p) => p.field === 'run.command')?.hint }
          : {}),
    });
  }

  /**
   * What the catalog says about the service, or undefined when it cannot be asked (not logged
   * in, control plane unreachable, not allowed): the file's own checks still stand.
   */
  private async catalogFacts(spec: DeclaredDeploySpec): Promise<CatalogFacts | undefined> {
    const skip = (why: string) => {
      this.info(`Note: skipped the catalog check of service and team: ${why}.`);
      return undefined;
    };
    try {
      if (!this.api.hasToken) return skip('not logged in (`idp login`, or set IDP_TOKEN)');
      const entity = await this.api.request<CatalogEntityLike>(
        'GET',
        `/api/catalog/entities/by-name/component/default/${encodeURIComponent(spec.service.name)}`,
      );
      return { found: true, owner: ownerOf(entity) };
    } catch (err) {
      if (err instanceof IdpError && err.code === 'NOT_FOUND') return { found: false };
      return skip(err instanceof IdpError ? `${err.message} [${err.code}]` : String(err));
    }
  }
}

interface CatalogEntityLike {
  spec?: { owner?: unknown };
  relations?: Array<{ type?: unknown; targetRef?: unknown }>;
}

function ownerOf(entity: CatalogEntityLike): string | undefined {
  if (typeof entity.spec?.owner === 'string') return entity.spec.owner;
  const ownedBy = entity.relations?.find((r) => r.type === 'ownedBy' && typeof r.targetRef === 'string');
  return ownedBy ? String(ownedBy.targetRef) : undefined;
}

/** The file's own problems first; catalog problems have codes of their own. */
function errorCodeFor(problems: readonly DeployProblem[], fileValid: boolean): ErrorCode {
  if (!fileValid) return 'DEPLOY_SPEC_INVALID';
  if (problems.some((p) => p.field === 'run.command')) return 'DEPLOY_RUN_NOT_INFERRED';
  return problems.some((p) => p.field === 'service.name') ? 'DEPLOY_SERVICE_UNKNOWN' : 'DEPLOY_TEAM_MISMATCH';
}

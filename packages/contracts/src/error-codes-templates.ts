import type { ErrorCodeSpec } from './error-spec.ts';

/** Golden paths: templates read from the catalog and the tasks that run them. */
export const TEMPLATE_ERRORS = {
  TEMPLATE_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No Template entity of this name in the catalog, or none you may read.',
    hint: 'Run `idp template:list` for the templates you can use.',
  },
  TEMPLATE_INVALID: {
    status: 422,
    exit: 1,
    meaning:
      'The Template entity cannot be run as written (a field the message names is missing or of the wrong type).',
    hint: "Fix the template's YAML at the field named and let the catalog refresh it (`idp catalog:refresh`).",
  },
  TEMPLATE_PARAMETERS_INVALID: {
    status: 400,
    exit: 2,
    meaning:
      "The values do not satisfy the template's parameters; details.problems lists every problem with its JSON path.",
    hint: "Run `idp template:get` with the template's name to see the parameters (required ones marked), then pass them with --set key=value or --values file.yaml.",
  },
  TEMPLATE_RENDER_FAILED: {
    status: 422,
    exit: 1,
    meaning: 'A ${{ }} expression or a skeleton file did not render; the message names the file or step and the line.',
    hint: 'Fix the expression at the place named; `idp create` with --dry-run renders without side effects.',
  },
  TEMPLATE_RENDER_LIMIT: {
    status: 422,
    exit: 1,
    meaning: 'A render ran longer or used more memory than templates.limits allow, and was stopped.',
    hint: 'Look for a loop or a very large value in the template; the limits are templates.limits in idp.config.yaml.',
  },
  TEMPLATE_ACTION_UNKNOWN: {
    status: 422,
    exit: 1,
    meaning: 'A step names an action idp does not have; the message names the step.',
    hint: 'Use one of the actions listed in the README (fetch:template, fetch:plain, fs:rename, fs:delete, debug:log, catalog:register, publish:git, idp:env:create, idp:deploy).',
  },
  TEMPLATE_ACTION_NOT_CONFIGURED: {
    status: 422,
    exit: 1,
    meaning:
      'The action exists but the platform is not set up for it (e.g. publish:github without a GitHub integration, or publish:git to a remote not allowed).',
    hint: 'Ask your platform team to configure it (templates.publish in idp.config.yaml), or use publish:git to an allowed remote.',
  },
  TEMPLATE_ACTION_FAILED: {
    status: 422,
    exit: 1,
    meaning: "A step's action failed; the task stops at that step and can be retried from it.",
    hint: "Read the task's log (`idp task:logs` with its id), fix the cause, then `idp task:retry` (finished steps are not redone).",
  },
  TEMPLATE_PATH_UNSAFE: {
    status: 422,
    exit: 1,
    meaning:
      "A path (targetPath, a file or folder name, a URL) would leave the task's workspace or the template's folder, or goes through a symbolic link.",
    hint: 'Use a relative path inside the workspace, without .. or links.',
  },
  TASK_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No task with this id, or none you may see.',
    hint: 'Run `idp task:list` for your tasks.',
  },
  TASK_NOT_RETRYABLE: {
    status: 409,
    exit: 1,
    meaning: 'Only a failed or cancelled task can be retried, and only a task still open or running can be cancelled.',
    hint: 'Run `idp task:get` with its id to see its status.',
  },
  TASK_CANCELLED: {
    status: 409,
    exit: 1,
    meaning: 'The task was cancelled before it finished; the steps it had finished stay done.',
    hint: 'Run `idp task:retry` with its id to run it again from the step it stopped at.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;

import { IdpError } from '@idp/contracts';
import type {
  CreateTaskRequest,
  DryRunResult,
  Task,
  TaskList,
  TaskLog,
  TaskLogEntry,
  TaskStatus,
  TemplateDetail,
  TemplateList,
} from '@idp/contracts';
import { ApiModule } from './api-module.ts';
import { readServerSentEvents } from './sse.ts';
import { idUrl } from './transport.ts';

/** Which tasks to list: the caller's own (the default) or, for admins, everyone's; optionally one status. */
export interface TaskFilter {
  createdBy?: 'me' | 'all';
  status?: TaskStatus;
}

/** What to run a template with; `dryRun` renders and runs the steps with no side effects. */
export interface CreateTaskOptions {
  values?: CreateTaskRequest['values'];
  dryRun?: boolean;
}

/** An event of a followed task: a log line as it is written, then the task once it has ended. */
export type TaskEvent = { kind: 'log'; entry: TaskLogEntry } | { kind: 'task'; task: Task };

/**
 * Golden paths: the templates of the catalog (Backstage's scaffolder format) and the tasks that
 * run them, with their per-step logs.
 */
export class TemplatesApi extends ApiModule {
  /** The templates the caller may see. */
  templates(): Promise<TemplateList> {
    return this.http.request('GET', '/api/templates');
  }

  /** One template with its merged parameters (a table's rows and the JSON Schema) and its steps. */
  template(name: string): Promise<TemplateDetail> {
    return this.http.request('GET', templateUrl(name));
  }

  /**
   * Runs a template: 202 with the task (it runs in the background) or, for a dry run, the files
   * it would write. Values that do not fit the parameters fail as one TEMPLATE_PARAMETERS_INVALID
   * whose details.problems lists each with its JSON path.
   */
  createTask(name: string, opts: CreateTaskOptions & { dryRun: true }): Promise<DryRunResult>;
  createTask(name: string, opts?: CreateTaskOptions & { dryRun?: false }): Promise<Task>;
  createTask(name: string, opts: CreateTaskOptions = {}): Promise<Task | DryRunResult> {
    const body: CreateTaskRequest = { values: opts.values ?? {}, dryRun: opts.dryRun ?? false };
    return this.http.request('POST', `${templateUrl(name)}/tasks`, { body });
  }

  tasks(filter: TaskFilter = {}): Promise<TaskList> {
    return this.http.request('GET', '/api/tasks', { query: { createdBy: filter.createdBy, status: filter.status } });
  }

  task(id: string): Promise<Task> {
    return this.http.request('GET', taskUrl(id));
  }

  /** The task's log lines after sequence number `after` (all of them by default). */
  taskLogs(id: string, after?: number): Promise<TaskLog> {
    return this.http.request('GET', `${taskUrl(id)}/logs`, { query: { after } });
  }

  /**
   * The task's log lines after `after` as they are written, then the task itself when it ends
   * (the stream closes after it), until `signal` aborts (then the iteration ends quietly). A
   * stream that closes without the task (a restarted control plane) simply ends: read the task
   * and follow again from the last `seq`.
   */
  async *followTaskLogs(id: string, signal: AbortSignal, after?: number): AsyncGenerator<TaskEvent> {
    const response = await this.http.stream(`${taskUrl(id)}/logs`, { after, follow: true }, signal);
    if (!response.body) return;
    for await (const event of readServerSentEvents(response.body, signal)) {
      if (event.event === 'task') {
        yield { kind: 'task', task: JSON.parse(event.data) as Task };
        return;
      }
      yield { kind: 'log', entry: JSON.parse(event.data) as TaskLogEntry };
    }
  }

  /** Runs a failed or cancelled task again from its first step not completed (202). */
  retryTask(id: string): Promise<Task> {
    return this.http.request('POST', `${taskUrl(id)}/retry`);
  }

  /** Stops a task that is open or running (202); the step running is told to stop. */
  cancelTask(id: string): Promise<Task> {
    return this.http.request('POST', `${taskUrl(id)}/cancel`);
  }
}

function templateUrl(name: string): string {
  return idUrl(
    '/api/templates',
    name,
    () =>
      new IdpError('USAGE', `"${name}" is not a template name`, {
        field: 'template',
        hint: 'Run `idp template:list` for the templates you can use.',
      }),
  );
}

function taskUrl(id: string): string {
  return idUrl(
    '/api/tasks',
    id,
    () =>
      new IdpError('USAGE', `"${id}" is not a task id`, {
        field: 'id',
        hint: 'Run `idp task:list` for your tasks and their ids.',
      }),
  );
}

// The render sandbox process: receives batches of renders over IPC, answers their results.
// Started by sandbox-process.ts with a small V8 heap, an empty environment and (bundled) under
// Node's permission model; the control plane kills it when a batch overruns its time, and V8
// aborts it (only it) when a template allocates past the heap. Either way the next render gets a
// fresh one.
import { createEngine, lockDown } from './engine.ts';
import { MAX_OUTPUT_ENV } from './protocol.ts';
import type { RenderResult, SandboxProbe, WorkerReply, WorkerRequest } from './protocol.ts';

const send = process.send?.bind(process);
if (!send) throw new Error('worker.ts runs only as the render sandbox (a child process with IPC)');

const engine = createEngine(Number(process.env[MAX_OUTPUT_ENV]) || 16 * 1024 * 1024);
lockDown();

interface Permission {
  has(scope: string): boolean;
}

function probe(): SandboxProbe {
  const permission = (process as unknown as { permission?: Permission }).permission;
  const may = (scope: string) => (permission ? permission.has(scope) : true);
  return {
    confined: permission !== undefined,
    fsRead: may('fs.read'),
    fsWrite: may('fs.write'),
    childProcess: may('child'),
    workerThreads: may('worker'),
    env: Object.keys(process.env),
  };
}

process.on('message', (batch: WorkerRequest) => {
  if (batch.type === 'probe') {
    send({ type: 'probe', probe: probe() } satisfies WorkerReply);
    return;
  }
  const results: RenderResult[] = batch.items.map((item) => engine.render(item, batch.contexts[item.context]));
  send({ type: 'rendered', id: batch.id, results } satisfies WorkerReply);
});
// The control plane went away: so does the sandbox.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready' } satisfies WorkerReply);

// The render sandbox process: receives batches of renders over IPC, answers their results.
// Started by renderer.ts through worker-entry.js with a small V8 heap and an empty environment;
// the control plane kills it when a batch overruns its time, and V8 aborts it (only it) when a
// template allocates past the heap. Either way the next render gets a fresh one.
import { createEngine, lockDown } from './engine.ts';
import { MAX_OUTPUT_ENV } from './protocol.ts';
import type { RenderBatch, RenderResult, WorkerReply } from './protocol.ts';

const send = process.send?.bind(process);
if (!send) throw new Error('worker.ts runs only as the render sandbox (a child process with IPC)');

const engine = createEngine(Number(process.env[MAX_OUTPUT_ENV]) || 16 * 1024 * 1024);
lockDown();

process.on('message', (batch: RenderBatch) => {
  const results: RenderResult[] = batch.items.map((item) => engine.render(item, batch.contexts[item.context]));
  send({ type: 'rendered', id: batch.id, results } satisfies WorkerReply);
});
// The control plane went away: so does the sandbox.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready' } satisfies WorkerReply);

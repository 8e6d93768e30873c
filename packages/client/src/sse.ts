/** One server-sent event: its `event:` name (`message` when it has none) and its `data:` lines joined. */
export interface ServerSentEvent {
  event: string;
  data: string;
}

/**
 * The events of a text/event-stream body as they arrive, until it ends or `signal` aborts (then
 * the iteration ends quietly). Comments (`: keep-alive`) and events without data are skipped;
 * `\r\n` line ends are read like `\n`.
 */
export async function* readServerSentEvents(
  body: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let pending = '';
  let carry = ''; // a '\r' at the end of a chunk: its '\n' may come in the next one
  try {
    for await (const chunk of body) {
      let text = carry + decoder.decode(chunk, { stream: true });
      carry = text.endsWith('\r') ? '\r' : '';
      if (carry) text = text.slice(0, -1);
      pending += text.replace(/\r\n?/g, '\n');
      let end = pending.indexOf('\n\n');
      while (end >= 0) {
        const parsed = parseEvent(pending.slice(0, end));
        pending = pending.slice(end + 2);
        if (parsed) yield parsed;
        end = pending.indexOf('\n\n');
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
}

function parseEvent(block: string): ServerSentEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    else if (line.startsWith('event:')) event = line.slice(6).trim() || 'message';
  }
  return data.length === 0 ? undefined : { event, data: data.join('\n') };
}

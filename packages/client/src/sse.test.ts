import { describe, expect, it } from 'vitest';
import { readServerSentEvents, type ServerSentEvent } from './sse.ts';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  for (const part of parts) yield encoder.encode(part);
}

async function read(body: AsyncIterable<Uint8Array>, signal = new AbortController().signal) {
  const events: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(body, signal)) events.push(event);
  return events;
}

describe('readServerSentEvents', () => {
  it('reads data events, named events and multi-line data; skips comments and events without data', async () => {
    const events = await read(
      chunks(': keep-alive\n\n', 'data: {"seq":1}\n\n', 'event: task\ndata: {"id":"t1"}\n\n', 'data: a\ndata:  b\n\n'),
    );
    expect(events).toEqual([
      { event: 'message', data: '{"seq":1}' },
      { event: 'task', data: '{"id":"t1"}' },
      { event: 'message', data: 'a\n b' },
    ]);
  });

  it('joins events split across chunks anywhere, a multi-byte character and a \\r\\n line end included', async () => {
    const text = 'data: {"message":"café ✓"}\r\n\r\nevent: task\r\ndata: {}\r\n\r\n';
    const bytes = new TextEncoder().encode(text);
    async function* oneByteAtATime() {
      for (const byte of bytes) yield new Uint8Array([byte]);
    }
    expect(await read(oneByteAtATime())).toEqual([
      { event: 'message', data: '{"message":"café ✓"}' },
      { event: 'task', data: '{}' },
    ]);
  });

  it('leaves an unfinished last event out', async () => {
    expect(await read(chunks('data: 1\n\ndata: 2\n'))).toEqual([{ event: 'message', data: '1' }]);
  });

  it('ends quietly when the signal aborted the body, and passes other failures on', async () => {
    const abort = new AbortController();
    async function* aborted() {
      yield new TextEncoder().encode('data: 1\n\n');
      abort.abort();
      throw new DOMException('aborted', 'AbortError');
    }
    expect(await read(aborted(), abort.signal)).toEqual([{ event: 'message', data: '1' }]);
    async function* broken() {
      yield new TextEncoder().encode('data: 1\n\n');
      throw new Error('socket hang up');
    }
    await expect(read(broken())).rejects.toThrow('socket hang up');
  });
});

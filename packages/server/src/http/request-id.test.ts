import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { requestIdFor } from './request-id.ts';

const req = (id?: string) => ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as IncomingMessage;

describe('request ids', () => {
  it("keeps a caller's safe id and otherwise makes a new one, never the same twice", () => {
    expect(requestIdFor(req('abc-123:x'))).toBe('abc-123:x');
    const made = Array.from({ length: 2000 }, (_, i) => requestIdFor(req(i % 2 ? 'bad id!' : undefined)));
    for (const id of made) expect(id).toMatch(/^req_[0-9a-f]{16}$/);
    expect(new Set(made).size).toBe(made.length);
  });
});

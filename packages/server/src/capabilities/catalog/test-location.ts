// A location row for tests: a file location registered through the API, not yet read, whose Users
// and Groups count; each test overrides what it is about.
import type { LocationRow } from './store-types.ts';

export function testLocation(id: string, target: string, over: Partial<LocationRow> = {}): LocationRow {
  return {
    id,
    type: 'file',
    target,
    origin: 'api',
    created_at: '2026-01-01T00:00:00Z',
    created_by: 'test',
    refreshed_at: null,
    status: 'pending',
    last_error: null,
    identity_source: 1,
    ...over,
  };
}

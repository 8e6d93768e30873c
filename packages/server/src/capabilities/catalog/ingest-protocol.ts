// The messages between the catalog's ingest worker (ingest-worker.ts) and the main thread
// (ingest-worker-client.ts): a catalog file to parse and check, answered in batches of documents.
import type { CheckedEntity } from './check-entity.ts';
import type { StitchedEntity, StitchInput } from './stitch-entity.ts';

/** Parse `text` (the file `fileRef` of the location `origin`) and check each of its entities. */
export interface CheckFileRequest {
  id: number;
  type: 'check-file';
  text: string;
  fileRef: string;
  origin: string;
}

/** Stitch each entity (see stitch-entity.ts). */
export interface StitchRequest {
  id: number;
  type: 'stitch';
  inputs: StitchInput[];
}

/** One document of a file, in file order. */
export type CheckedDocument =
  | ({ t: 'ok'; line: number | null } & CheckedEntity)
  | { t: 'bad'; line: number | null; ref: string | null; message: string }
  /** Holds placeholders: the main thread resolves them (they read under the location's rules) and checks it. */
  | { t: 'raw'; line: number | null; raw: unknown };

export type WorkerReply =
  | { id: number; type: 'documents'; documents: CheckedDocument[] }
  | { id: number; type: 'done' }
  /** The file is not valid YAML or breaks a limit: nothing of it counts (documents sent before included). */
  | { id: number; type: 'yaml-error'; reason: string; line: number | null; column: number | null; limit?: string }
  | { id: number; type: 'failed'; message: string }
  /** Each StitchInput's result, in order; null: unchanged, nothing to write. */
  | { id: number; type: 'stitched'; results: (StitchedEntity | null)[] };

export type WorkerRequest = CheckFileRequest | StitchRequest;

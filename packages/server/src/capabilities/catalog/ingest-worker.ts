// The catalog's ingest worker (a worker thread): parses a large catalog file and checks its entities,
// and stitches entities (final JSON, etag, search rows), off the main thread, so the server answers
// queries while a 10,000-entity file is read and written. Pure
// computation on the text it is given: it reads no file and fetches nothing (placeholders, which
// do, are left to the main thread). Started and stopped by ingest-worker-client.ts.
import { parentPort } from 'node:worker_threads';
import { CATALOG_YAML_LIMITS, YamlError } from '@idp/core';
import { checkResolved, guessRef } from './check-entity.ts';
import type { CheckedDocument, CheckFileRequest, WorkerReply, WorkerRequest } from './ingest-protocol.ts';
import { documentSlices } from './parse-chunks.ts';
import { hasPlaceholders } from './placeholders.ts';
import { stitchInput } from './stitch-entity.ts';
import { EntityValidationError } from './validate.ts';

/** Documents per message: small enough that the main thread takes each in a moment. */
const BATCH = 100;

const port = parentPort;
if (!port) throw new Error('ingest-worker.ts runs only as a worker thread');

const send = (reply: WorkerReply) => port.postMessage(reply);

async function checkFile(req: CheckFileRequest): Promise<void> {
  let batch: CheckedDocument[] = [];
  try {
    for (const docs of documentSlices(req.text, CATALOG_YAML_LIMITS)) {
      for (const { value, line } of docs) {
        if (value === null || value === undefined) continue;
        batch.push(await checkDocument(value, line, req));
        if (batch.length >= BATCH) {
          send({ id: req.id, type: 'documents', documents: batch });
          batch = [];
        }
      }
    }
  } catch (err) {
    if (err instanceof YamlError) {
      send({
        id: req.id,
        type: 'yaml-error',
        reason: err.reason,
        line: err.line,
        column: err.column,
        limit: err.limit,
      });
      return;
    }
    throw err;
  }
  if (batch.length) send({ id: req.id, type: 'documents', documents: batch });
  send({ id: req.id, type: 'done' });
}

async function checkDocument(raw: unknown, line: number | null, req: CheckFileRequest): Promise<CheckedDocument> {
  if (hasPlaceholders(raw)) return { t: 'raw', line, raw };
  try {
    const c = await checkResolved(raw, req.fileRef, req.origin);
    return {
      t: 'ok',
      line,
      ref: c.ref,
      kind: c.kind,
      entity: c.entity,
      contentHash: c.contentHash,
      relations: c.relations,
      warnings: c.warnings,
    };
  } catch (err) {
    // The same words as the main thread's check (read.ts).
    const message =
      err instanceof EntityValidationError ? err.message : `the entity could not be checked: ${(err as Error).message}`;
    return { t: 'bad', line, ref: guessRef(raw) ?? null, message };
  }
}

port.on('message', (req: WorkerRequest) => {
  if (req.type === 'stitch') {
    try {
      send({ id: req.id, type: 'stitched', results: req.inputs.map((input) => stitchInput(input) ?? null) });
    } catch (err) {
      send({ id: req.id, type: 'failed', message: err instanceof Error ? err.message : String(err) });
    }
    return;
  }
  checkFile(req).catch((err: unknown) =>
    send({ id: req.id, type: 'failed', message: err instanceof Error ? err.message : String(err) }),
  );
});

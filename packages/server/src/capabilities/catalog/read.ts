import { CATALOG_YAML_LIMITS, YamlError } from '@idp/core';
import { checkResolved, guessRef } from './check-entity.ts';
import { IngestWorkerError, ingestWorker } from './ingest-worker-client.ts';
import { loadDocumentsSliced } from './parse-chunks.ts';
import { yieldToLoop } from './read-connection.ts';
import type { RelationRow } from './relations.ts';
import {
  ReadSession,
  SourceUnreachableError,
  type LocationType,
  type ReadOptions,
  type SourceFile,
} from './sources.ts';
import { EntityValidationError } from './validate.ts';
import { PlaceholderBudget, PlaceholderError, resolvePlaceholders } from './placeholders.ts';
import type { Entity } from '@backstage/catalog-model';

export { ANNOTATION_LOCATION, ANNOTATION_ORIGIN_LOCATION } from './check-entity.ts';

/** An entity as read and validated, with its declared relations; not yet stitched. */
export interface ReadEntity {
  ref: string;
  kind: string;
  entity: Entity;
  source: string;
  parentRef: string | null;
  contentHash: string;
  relations: RelationRow[];
}

export interface ReadIssue {
  file: string | null;
  line: number | null;
  entityRef: string | null;
  message: string;
}

export interface ReadResult {
  entities: ReadEntity[];
  issues: ReadIssue[];
  /** Accepted but worth fixing (a Component without spec.lifecycle): listed apart from the issues. */
  warnings: ReadIssue[];
  /** Sources that could not be read or parsed: the entities they gave before are kept as they were. */
  failedSources: string[];
  /** Entities that failed validation: their previous version (if any) is kept. */
  failedRefs: Set<string>;
  /** Set when the registered location itself could not be read; nothing else is meaningful then. */
  unreachable?: string;
}

const MAX_NESTING = 16;
/** Entities checked between turns of the event loop, so queries are answered during an ingest. */
const YIELD_EVERY = 50;
/** Entities the worker checked taken in between turns of the event loop. */
const WORKER_YIELD_EVERY = 500;

/**
 * Reads a location and every Location entity it leads to, parses every YAML document, and
 * validates each entity. Never throws for bad content: every problem becomes an issue.
 */
export async function readLocation(type: LocationType, target: string, opts: ReadOptions = {}): Promise<ReadResult> {
  const session = new ReadSession(opts);
  const placeholders = new PlaceholderBudget(session);
  const result: ReadResult = { entities: [], issues: [], warnings: [], failedSources: [], failedRefs: new Set() };
  const origin = `${type}:${target}`;
  const byRef = new Map<string, ReadEntity>();
  const visited = new Set<string>();
  try {
    let roots: SourceFile[];
    try {
      roots = await session.readRoot(type, target);
    } catch (err) {
      if (!(err instanceof SourceUnreachableError)) throw err;
      result.unreachable = err.message;
      result.issues.push({ file: target, line: null, entityRef: null, message: err.message });
      return result;
    }
    const queue: { file: SourceFile; parentRef: string | null; depth: number }[] = roots.map((file) => ({
      file,
      parentRef: null,
      depth: 0,
    }));
    if (roots.length === 0)
      result.issues.push({
        file: target,
        line: null,
        entityRef: null,
        message: `no catalog-info.yaml file below ${target}`,
      });
    while (queue.length) {
      const { file, parentRef, depth } = queue.shift()!;
      if (visited.has(file.ref)) {
        result.issues.push({
          file: file.display,
          line: null,
          entityRef: parentRef,
          message: `location loop: ${file.ref} was already read from this location; not following it again`,
        });
        continue;
      }
      visited.add(file.ref);
      for await (const doc of checkedDocuments(file, origin, result, placeholders)) {
        const { entity } = doc;
        if (!entity) continue;
        const { ref } = entity;
        const first = byRef.get(ref);
        if (first) {
          result.issues.push({
            file: file.display,
            line: doc.line,
            entityRef: ref,
            message: `${ref} is defined twice in this location; the first (from ${first.source}) is kept`,
          });
          continue;
        }
        byRef.set(ref, { ...entity, parentRef });
        if (entity.entity.kind !== 'Location') continue;
        const spec = entity.entity.spec as { type?: string; target?: string; targets?: string[] };
        const targets = [spec.target, ...(spec.targets ?? [])].filter(
          (t): t is string => typeof t === 'string' && t.length > 0,
        );
        if (depth + 1 > MAX_NESTING) {
          result.issues.push({
            file: file.display,
            line: doc.line,
            entityRef: ref,
            message: `Location entities nest deeper than ${MAX_NESTING} levels; not following ${ref}`,
          });
          continue;
        }
        for (const t of targets) {
          try {
            const files = await session.readNested(file.base, spec.type, t);
            for (const f of files) queue.push({ file: f, parentRef: ref, depth: depth + 1 });
          } catch (err) {
            if (!(err instanceof SourceUnreachableError)) throw err;
            result.failedSources.push(err.ref);
            result.issues.push({ file: file.display, line: doc.line, entityRef: ref, message: err.message });
          }
        }
      }
    }
  } finally {
    await session.cleanup();
  }
  for (const skipped of session.skipped)
    result.issues.push({ file: skipped.file, line: null, entityRef: null, message: skipped.message });
  result.entities = [...byRef.values()];
  return result;
}

type Checked = Omit<ReadEntity, 'parentRef'>;

/**
 * Each document of a file, in order, with its entity as checked (undefined when it failed: the
 * problem is in `result` then). A large file is parsed and checked by the ingest worker, the
 * rest (and any entity with placeholders, which read files) on the main thread.
 */
async function* checkedDocuments(
  file: SourceFile,
  origin: string,
  result: ReadResult,
  placeholders: PlaceholderBudget,
): AsyncGenerator<{ line: number | null; entity: Checked | undefined }> {
  if (file.text.length >= ingestWorker.minBytes && (await ingestWorker.available())) {
    yield* checkedByWorker(file, origin, result, placeholders);
    return;
  }
  let checked = 0;
  for (const doc of await parseDocuments(file, result)) {
    if (++checked % YIELD_EVERY === 0) await yieldToLoop();
    yield { line: doc.line, entity: await checkEntity(doc.raw, file, doc.line, origin, result, placeholders) };
  }
}

async function* checkedByWorker(
  file: SourceFile,
  origin: string,
  result: ReadResult,
  placeholders: PlaceholderBudget,
): AsyncGenerator<{ line: number | null; entity: Checked | undefined }> {
  let outcome;
  try {
    outcome = await ingestWorker.checkFile(file.text, file.ref, origin);
  } catch (err) {
    if (!(err instanceof IngestWorkerError)) throw err;
    fileFailed(
      file,
      result,
      `the file could not be checked (${err.message}); nothing from this file was changed`,
      null,
    );
    return;
  }
  if ('yamlError' in outcome) {
    const e = outcome.yamlError;
    yamlFailed(file, result, e.reason, e.line, e.column, e.limit !== undefined);
    return;
  }
  let n = 0;
  for (const doc of outcome.documents) {
    if (++n % WORKER_YIELD_EVERY === 0) await yieldToLoop();
    if (doc.t === 'raw') {
      yield { line: doc.line, entity: await checkEntity(doc.raw, file, doc.line, origin, result, placeholders) };
    } else if (doc.t === 'bad') {
      if (doc.ref) result.failedRefs.add(doc.ref);
      result.issues.push({ file: file.display, line: doc.line, entityRef: doc.ref, message: doc.message });
      yield { line: doc.line, entity: undefined };
    } else {
      for (const message of doc.warnings)
        result.warnings.push({ file: file.display, line: doc.line, entityRef: doc.ref, message });
      const { ref, kind, entity, contentHash, relations } = doc;
      yield { line: doc.line, entity: { ref, kind, entity, source: file.ref, contentHash, relations } };
    }
  }
}

interface ParsedDoc {
  raw: unknown;
  line: number | null;
}

/**
 * Every YAML document of a file, each with the line it starts on; a syntax error or a parsing
 * limit (size, depth, aliases, expanded size: see CATALOG_YAML_LIMITS) fails the file alone.
 */
async function parseDocuments(file: SourceFile, result: ReadResult): Promise<ParsedDoc[]> {
  let docs: { value: unknown; line: number | null }[];
  try {
    docs = await loadDocumentsSliced(file.text, CATALOG_YAML_LIMITS);
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    yamlFailed(file, result, err.reason, err.line, err.column, err.limit !== undefined);
    return [];
  }
  return docs.map((d) => ({ raw: d.value, line: d.line })).filter((d) => d.raw !== null && d.raw !== undefined);
}

function yamlFailed(
  file: SourceFile,
  result: ReadResult,
  reason: string,
  line: number | null,
  column: number | null,
  limit: boolean,
): void {
  const where = line ? ` at line ${line}${column ? `, column ${column}` : ''}` : '';
  const message = limit ? `${reason}${where}` : `YAML syntax error${where}: ${reason}`;
  fileFailed(file, result, `${message}; nothing from this file was changed`, line);
}

function fileFailed(file: SourceFile, result: ReadResult, message: string, line: number | null): void {
  result.failedSources.push(file.ref);
  result.issues.push({ file: file.display, line, entityRef: null, message });
}

async function checkEntity(
  raw: unknown,
  file: SourceFile,
  line: number | null,
  origin: string,
  result: ReadResult,
  placeholders?: PlaceholderBudget,
): Promise<Checked | undefined> {
  const guessedRef = guessRef(raw);
  let checked;
  try {
    if (placeholders) raw = await resolvePlaceholders(raw, file, placeholders);
    checked = await checkResolved(raw, file.ref, origin);
  } catch (err) {
    // Bad content never fails the read: every problem becomes an issue of its file.
    const known = err instanceof PlaceholderError || err instanceof EntityValidationError;
    const message = known ? err.message : `the entity could not be checked: ${(err as Error).message}`;
    if (guessedRef) result.failedRefs.add(guessedRef);
    result.issues.push({ file: file.display, line, entityRef: guessedRef ?? null, message });
    return undefined;
  }
  const { ref, kind, entity, contentHash, relations, warnings } = checked;
  for (const message of warnings) result.warnings.push({ file: file.display, line, entityRef: ref, message });
  return { ref, kind, entity, source: file.ref, contentHash, relations };
}

/** Validation for POST /validate-entity: the same checks as ingestion, without reading anything. */
export async function checkSingleEntity(
  raw: unknown,
  locationRef: string,
): Promise<{ ok: true; entity: Entity } | { ok: false; message: string }> {
  const result: ReadResult = { entities: [], issues: [], warnings: [], failedSources: [], failedRefs: new Set() };
  const file: SourceFile = { ref: locationRef, display: locationRef, text: '', base: { kind: 'file', dir: '/' } };
  const checked = await checkEntity(raw, file, null, locationRef, result);
  return checked
    ? { ok: true, entity: checked.entity }
    : { ok: false, message: result.issues[0]?.message ?? 'invalid entity' };
}

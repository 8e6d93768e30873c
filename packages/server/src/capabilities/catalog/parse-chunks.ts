// A large catalog file parsed a slice of documents at a time, so the server answers other requests
// between slices (a 10,000-entity file takes seconds to parse in one go). Each slice gets a share
// of the file's limits in proportion to its size, so the file as a whole stays within them.
import { loadYamlDocuments, YamlError, type YamlLimits, type YamlValue } from '@idp/core';
import { yieldToLoop } from './read-connection.ts';

/** Files up to this size are parsed in one go. */
const SLICE_BYTES = 128 * 1024;

/**
 * Every document of `text` with its line, as loadYamlDocuments gives them; throws YamlError with
 * the line in the whole file. Slices end at a line that is a document marker (`---`); a file with
 * directives (`%YAML`) is parsed whole.
 */
export async function loadDocumentsSliced(text: string, limits: YamlLimits): Promise<YamlValue[]> {
  const out: YamlValue[] = [];
  for (const docs of documentSlices(text, limits)) {
    for (const d of docs) out.push(d);
    await yieldToLoop();
  }
  return out;
}

/**
 * The documents of `text` a slice at a time (see loadDocumentsSliced), each with its line in the
 * whole file. A YamlError may come after slices were given: then the file as a whole is invalid.
 */
export function* documentSlices(text: string, limits: YamlLimits): Generator<YamlValue[]> {
  if (text.length <= SLICE_BYTES || /^%/m.test(text) || Buffer.byteLength(text) > limits.maxBytes) {
    // Small, with directives, or too large (the limit's own error).
    yield loadYamlDocuments(text, limits);
    return;
  }
  let given = 0;
  let start = 0;
  let lineOffset = 0;
  while (start < text.length) {
    let end = text.length;
    if (text.length - start > SLICE_BYTES) {
      const marker = /^---[ \t]*(?:\r?\n|$)/gm;
      marker.lastIndex = start + SLICE_BYTES;
      const m = marker.exec(text);
      if (m) end = m.index;
    }
    const slice = text.slice(start, end);
    const share = slice.length / text.length;
    const sliceLimits: YamlLimits = {
      ...limits,
      maxDocuments: limits.maxDocuments - given,
      maxNodes: Math.max(1, Math.floor(limits.maxNodes * share)),
      maxChars: Math.max(1, Math.floor(limits.maxChars * share)),
      maxAliases: limits.maxAliases,
    };
    let docs: YamlValue[];
    try {
      docs = loadYamlDocuments(slice, sliceLimits);
    } catch (err) {
      if (err instanceof YamlError && err.line !== null)
        throw new YamlError(err.reason, err.line + lineOffset, err.column, err.limit);
      throw err;
    }
    given += docs.length;
    const offset = lineOffset;
    lineOffset += countLines(slice);
    start = end;
    yield docs.map((d) => ({ value: d.value, line: d.line === null ? null : d.line + offset }));
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

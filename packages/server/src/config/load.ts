import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { IdpError } from '@idp/contracts';
import {
  SMALL_YAML_LIMITS,
  YamlError,
  checkYamlSource,
  closestMatch,
  documentValue,
  formatSchemaPath,
  knownKeysAt,
  locateInDocument,
  type SchemaPath,
  type YamlLimits,
} from '@idp/core';
import { ConfigSchema, type IdpConfig } from './schema.ts';

export interface LoadedConfig {
  path: string;
  /** Folder of the config file; relative paths in the config resolve against it. */
  baseDir: string;
  config: IdpConfig;
}

/** A config is a few KB; an alias bomb or a huge file is refused as CONFIG_INVALID, not a crash. */
const CONFIG_YAML_LIMITS: YamlLimits = { ...SMALL_YAML_LIMITS, maxBytes: 1024 * 1024 };

export function loadConfig(path: string): LoadedConfig {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new IdpError(
      'CONFIG_INVALID',
      `cannot read config file ${abs}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      {
        file: abs,
        hint: 'Pass an existing file with --config or IDP_CONFIG (the demo: examples/acme/idp.config.yaml).',
      },
    );
  }
  return parseConfig(text, abs);
}

export function parseConfig(text: string, abs: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = withinLimits(abs, () => {
    checkYamlSource(text, CONFIG_YAML_LIMITS);
    return parseDocument(text, { prettyErrors: true, lineCounter });
  });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0];
    throw new IdpError(
      'CONFIG_INVALID',
      `${abs}${line ? `:${line.line}:${line.col}` : ''}: not valid YAML: ${first.message.split('\n')[0]}`,
      {
        file: abs,
        line: line?.line,
      },
    );
  }
  const raw = withinLimits(abs, () => documentValue(doc, CONFIG_YAML_LIMITS, lineCounter)) ?? {};
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw configProblems(abs, doc, lineCounter, parsed.error.issues);
  return { path: abs, baseDir: dirname(abs), config: parsed.data };
}

interface ConfigProblem {
  field: string;
  line: number;
  column: number;
  message: string;
  didYouMean?: string;
  hint?: string;
}

/**
 * CONFIG_INVALID for schema problems: the first in the message (file:line:column, the field, what
 * is wrong, did you mean), every one in details.issues. An unknown key is named as its own field
 * (`auth.tokenTTL`), with the keys the section does accept.
 */
function configProblems(abs: string, doc: Document, lineCounter: LineCounter, issues: readonly z.core.$ZodIssue[]) {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const at = (path: readonly PropertyKey[], prefer: 'key' | 'value') => {
      const { line, col } = lineCounter.linePos(locateInDocument(doc, path as SchemaPath, prefer).offset);
      return { line, column: col };
    };
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(ConfigSchema, path);
      const section = formatSchemaPath(path) || 'the top level';
      for (const key of issue.keys) {
        const didYouMean = closestMatch(key, known);
        problems.push({
          field: formatSchemaPath([...path, key]),
          ...at([...path, key], 'key'),
          message: `unknown key "${key}"${didYouMean ? ` (did you mean "${didYouMean}"?)` : ''}`,
          didYouMean,
          hint: known.length > 0 ? `Keys accepted under ${section}: ${known.join(', ')}.` : undefined,
        });
      }
      continue;
    }
    problems.push({ field: formatSchemaPath(path) || '(root)', ...at(path, 'value'), message: issue.message });
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  const first = problems[0]!;
  return new IdpError(
    'CONFIG_INVALID',
    `${abs}:${first.line}:${first.column}: field ${first.field}: ${first.message}`,
    {
      file: abs,
      line: first.line,
      column: first.column,
      field: first.field,
      didYouMean: first.didYouMean,
      hint: first.hint,
      issues: problems,
    },
  );
}

/** Runs a YAML step, reporting a limit it passes as CONFIG_INVALID at the file (and line). */
function withinLimits<T>(abs: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    const at = err.line ? `:${err.line}${err.column ? `:${err.column}` : ''}` : '';
    throw new IdpError('CONFIG_INVALID', `${abs}${at}: ${err.reason}`, { file: abs, line: err.line ?? undefined });
  }
}

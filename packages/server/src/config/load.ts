import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { IdpError } from '@idp/contracts';
import { SMALL_YAML_LIMITS, YamlError, checkYamlSource, documentValue, type YamlLimits } from '@idp/core';
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
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || '(root)';
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    throw new IdpError('CONFIG_INVALID', `${abs}: field ${field}: ${issue.message}${keys}`, {
      file: abs,
      field,
      issues: parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(root)', message: i.message })),
    });
  }
  return { path: abs, baseDir: dirname(abs), config: parsed.data };
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

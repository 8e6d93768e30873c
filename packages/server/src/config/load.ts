import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { IdpError } from '@idp/contracts';
import { ConfigSchema, type IdpConfig } from './schema.ts';

export interface LoadedConfig {
  path: string;
  /** Folder of the config file; relative paths in the config resolve against it. */
  baseDir: string;
  config: IdpConfig;
}

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
  const doc = parseDocument(text, { prettyErrors: true });
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
  const raw = doc.toJS() ?? {};
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

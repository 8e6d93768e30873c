import { Errors } from '@oclif/core';
import { IdpError } from '@idp/contracts';
import type { OutputFormat } from './output.ts';

export interface ErrorContext {
  /** Command id (`token:create`) when the error happened inside a command. */
  commandId?: string;
  /** Only `json` changes anything: the envelope is printed instead of the two text lines. */
  format?: OutputFormat;
  env?: NodeJS.ProcessEnv;
  stderr?: (text: string) => void;
}

/**
 * The one place the CLI turns a failure into text. Returns the exit code (see ERROR_CODES)
 * instead of exiting, so buffered stdout is never cut short.
 */
export function reportError(err: unknown, ctx: ErrorContext = {}): number {
  const write = ctx.stderr ?? ((text: string) => process.stderr.write(text));
  if (err instanceof Errors.ExitError) return err.oclif.exit ?? 1;

  const idpError = toIdpError(err, ctx.commandId);
  const { requestId, ...details } = idpError.details;
  if (ctx.format === 'json') {
    const body = new IdpError(idpError.code, idpError.message, details).toBody(
      typeof requestId === 'string' ? requestId : undefined,
    );
    write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    write(`Error [${idpError.code}]: ${idpError.message}\nTry this: ${idpError.hint}\n`);
    // Server-side failures are looked up by request id; for the user's own mistakes it is noise.
    if (typeof requestId === 'string' && idpError.status >= 500) write(`Request id: ${requestId}\n`);
  }
  if (isDebug(ctx.env ?? process.env) && err instanceof Error && err.stack) write(`${err.stack}\n`);
  return idpError.exitCode;
}

/** Everything becomes an IdpError so it renders with a stable code and a hint. */
export function toIdpError(err: unknown, commandId?: string): IdpError {
  if (err instanceof IdpError) return err;
  const help = commandId
    ? `Run \`idp ${commandId} --help\` to see its flags and examples.`
    : 'Run `idp --help` to see the commands.';
  if (isParseError(err)) {
    return new IdpError('USAGE', parseErrorMessage(err.message), { hint: help, ...flagOf(err) });
  }
  if (err instanceof Errors.CLIError) {
    const unknownCommand = /^command (\S+) not found$/.exec(err.message);
    if (unknownCommand) {
      return new IdpError('USAGE', `"${unknownCommand[1]}" is not an idp command`, {
        hint: 'Run `idp --help` to see the commands.',
      });
    }
    if (err.oclif?.exit === 2) {
      // A flag's own parser failed: oclif says "Parsing --limit" and puts the reason on the next line.
      const flag = /^Parsing --([\w-]+)/.exec(stripAnsi(err.message));
      const reason = parseErrorMessage(err.message.replace(/^Parsing --[\w-]+\s*/, ''));
      return flag
        ? new IdpError('USAGE', `--${flag[1]}: ${reason}`, { field: flag[1], hint: help })
        : new IdpError('USAGE', parseErrorMessage(err.message), { hint: help });
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new IdpError('INTERNAL', stripAnsi(message), {
    hint: 'This is unexpected: run again with IDP_DEBUG=1 to see the stack trace, and report it to your platform team.',
  });
}

/** Finds `--output json` before the flags are parsed (a parse error may be the reason they are not). */
export function outputFormatFromArgv(argv: readonly string[]): OutputFormat | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    let value: string | undefined;
    if (arg === '--output' || arg === '-o') value = argv[i + 1];
    else if (arg.startsWith('--output=')) value = arg.slice('--output='.length);
    else if (arg.startsWith('-o') && arg.length > 2) value = arg.slice(arg[2] === '=' ? 3 : 2);
    if (value === 'json' || value === 'yaml' || value === 'table') return value;
  }
  return undefined;
}

export function isDebug(env: NodeJS.ProcessEnv): boolean {
  return env.IDP_DEBUG === '1' || env.IDP_DEBUG === 'true';
}

interface ParseError extends Errors.CLIError {
  parse: unknown;
  flags?: string[];
}

function isParseError(err: unknown): err is ParseError {
  return err instanceof Errors.CLIError && 'parse' in err;
}

/** oclif's messages end in "See more help with --help" and spread lists over lines; make one line. */
function parseErrorMessage(message: string): string {
  const lines = stripAnsi(message)
    .split('\n')
    .map((line) => line.trim().replace(/\s{2,}/g, ' '))
    .filter((line) => line !== '' && !line.startsWith('See more help with'));
  if (lines.length > 1 && /^The following errors? occurred:$/.test(lines[0]!)) lines.shift();
  const [first = 'invalid command line', ...rest] = lines;
  if (rest.length === 0) return first;
  return first.endsWith(':') ? `${first} ${rest.join('; ')}` : [first, ...rest].join('; ');
}

function flagOf(err: ParseError): { field?: string } {
  const flag = err.flags?.[0];
  return flag ? { field: flag } : {};
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

import { Errors } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { outputFormatFromArgv, reportError, toIdpError } from './errors.ts';

function capture(err: unknown, format?: 'json' | 'table', env: NodeJS.ProcessEnv = {}): { code: number; text: string } {
  let text = '';
  const code = reportError(err, { commandId: 'token:list', format, env, stderr: (t) => (text += t) });
  return { code, text };
}

describe('reportError', () => {
  it('prints the code, message and hint, and returns the catalogue exit code', () => {
    const err = new IdpError('TOKEN_NOT_FOUND', 'no token tok_1', { requestId: 'req_1' });
    expect(capture(err)).toEqual({
      code: 4,
      text: 'Error [TOKEN_NOT_FOUND]: no token tok_1\nTry this: Run `idp token:list` to see token ids.\n',
    });
  });

  it('adds the request id for server-side failures', () => {
    expect(capture(new IdpError('INTERNAL', 'boom', { requestId: 'req_9' })).text).toContain('Request id: req_9\n');
  });

  it('prints the API envelope in json mode', () => {
    const { text } = capture(new IdpError('POLICY_DENIED', 'no', { requestId: 'req_1', hint: 'ask' }), 'json');
    expect(JSON.parse(text)).toEqual({
      error: { code: 'POLICY_DENIED', message: 'no', details: { hint: 'ask' }, requestId: 'req_1' },
    });
  });

  it('prints a stack trace only with IDP_DEBUG=1', () => {
    const err = new Error('kaboom');
    expect(capture(err).text).not.toContain('    at ');
    expect(capture(err, 'table', { IDP_DEBUG: '1' }).text).toContain('    at ');
  });

  it('passes an explicit exit through silently', () => {
    expect(capture(new Errors.ExitError(3))).toEqual({ code: 3, text: '' });
  });
});

describe('toIdpError', () => {
  it('makes an unexpected error INTERNAL, exit 1', () => {
    const err = toIdpError(new TypeError('x is undefined'));
    expect([err.code, err.message, err.exitCode]).toEqual(['INTERNAL', 'x is undefined', 1]);
  });

  it('makes an unknown command a usage error', () => {
    const err = toIdpError(new Errors.CLIError('command nope not found'));
    expect([err.code, err.message, err.exitCode]).toEqual(['USAGE', '"nope" is not an idp command', 2]);
  });
});

describe('outputFormatFromArgv', () => {
  it('finds every spelling of the output flag, up to "--"', () => {
    expect(outputFormatFromArgv(['whoami', '-o', 'json'])).toBe('json');
    expect(outputFormatFromArgv(['whoami', '--output=yaml'])).toBe('yaml');
    expect(outputFormatFromArgv(['whoami', '-ojson'])).toBe('json');
    expect(outputFormatFromArgv(['whoami', '--output', 'xml'])).toBeUndefined();
    expect(outputFormatFromArgv(['whoami', '--', '-o', 'json'])).toBeUndefined();
  });
});

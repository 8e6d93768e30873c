import { DELIVERY_ERRORS } from './error-codes-delivery.ts';
import { PLATFORM_ERRORS } from './error-codes-platform.ts';
import type { ErrorCodeSpec } from './error-spec.ts';
import { TEMPLATE_ERRORS } from './error-codes-templates.ts';
import { PREVIEW_ERRORS } from './error-codes-previews.ts';

/**
 * The error-code catalogue. Every error the API or CLI shows has one of these codes.
 * Codes are stable: never rename or reuse one; retire it by moving it to RETIRED_CODES.
 * docs/errors.md is generated from this table (`npm run docs:generate`) and a test fails when
 * the two disagree.
 */
export type { ErrorCodeSpec } from './error-spec.ts';

export const ERROR_CODES = {
  ...PLATFORM_ERRORS,
  ...TEMPLATE_ERRORS,
  ...PREVIEW_ERRORS,
  ...DELIVERY_ERRORS,
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes that once existed and must never be reused. */
export const RETIRED_CODES: readonly string[] = [];

export interface ErrorDetails {
  /** The request field (dotted path) or CLI flag at fault, when there is one. */
  field?: string;
  /** A specific "Try this:" hint; falls back to the catalogue's. */
  hint?: string;
  [key: string]: unknown;
}

export class IdpError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'IdpError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  get hint(): string {
    const spec: ErrorCodeSpec = ERROR_CODES[this.code];
    return this.details.hint ?? spec.hintFor?.(this.details) ?? spec.hint;
  }

  toBody(requestId?: string): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        details: { ...this.details, hint: this.hint },
        ...(requestId ? { requestId } : {}),
      },
    };
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details: ErrorDetails; requestId?: string };
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

export function isIdpError(err: unknown): err is IdpError {
  return err instanceof IdpError;
}

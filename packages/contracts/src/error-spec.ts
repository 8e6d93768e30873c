// What the error catalogue says of each code (errors.ts holds the catalogue).
export interface ErrorCodeSpec {
  /** HTTP status the API answers with. */
  status: number;
  /** Exit code of the CLI: 1 failure, 2 usage, 3 denied, 4 not found. */
  exit: 1 | 2 | 3 | 4;
  /** One line on what it means. */
  meaning: string;
  /** The default "Try this:" hint, with no placeholders; a thrower may give a more specific one. */
  hint: string;
  /** The hint filled in from the error's details (error-hints.ts); the default when it gives none. */
  hintFor?: (details: Readonly<Record<string, unknown>>) => string | undefined;
}

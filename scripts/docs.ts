import { ERROR_CODES, RETIRED_CODES } from '@idp/contracts';
import { startServer } from '@idp/server';

export function renderErrorsMarkdown(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, s]) => `| \`${code}\` | ${s.status} | ${s.exit} | ${s.meaning} | ${s.hint.replace(/\|/g, '\\|')} |`,
  );
  return [
    '# Error codes',
    '',
    'Every error from the API is `{"error":{"code","message","details":{"field"?,"hint",…},"requestId"}}`;',
    'the CLI prints `Error [CODE]: message` and a `Try this:` line, and exits with the code below',
    '(1 failure, 2 usage, 3 denied, 4 not found). Codes are stable: they are never renamed or reused.',
    '',
    'Generated from `packages/contracts/src/errors.ts` by `npm run docs:generate`; a test fails when they differ.',
    '',
    '| code | HTTP | exit | meaning | try this |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    '## Retired codes',
    '',
    RETIRED_CODES.length ? RETIRED_CODES.map((c) => `- \`${c}\``).join('\n') : 'None yet.',
    '',
  ].join('\n');
}

/** The OpenAPI document as the running server serves it, pretty-printed. */
export async function renderOpenApi(dataDir: string): Promise<string> {
  const server = await startServer({
    port: 0,
    dataDir,
    logLevel: 'warn',
    log: () => {},
    adminToken: 'docs-generation',
  });
  try {
    const res = await fetch(`${server.url}/openapi.json`);
    const doc = await res.json();
    return `${JSON.stringify(doc, null, 2)}\n`;
  } finally {
    await server.close();
  }
}

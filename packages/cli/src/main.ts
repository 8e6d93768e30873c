import { fileURLToPath } from 'node:url';
import { run, settings } from '@oclif/core';
import { outputFormatFromArgv, reportError } from './errors.ts';

/** true in the bundle (scripts/build.ts defines it); undeclared when running from source. */
declare const IDP_BUILD: boolean | undefined;

// oclif's root: package.json (its `oclif` settings) and, in the build, the commands' manifest.
// The build's copy (dist/package.json) names the bundle as the module holding the commands.
const CLI_ROOT = fileURLToPath(new URL(typeof IDP_BUILD === 'undefined' ? '..' : '../dist/', import.meta.url));

/** Runs `idp` with these arguments; sets process.exitCode rather than exiting. */
export async function main(argv: string[]): Promise<void> {
  // A closed pipe (`idp audit | head`) is the reader being done, not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });

  // bin/idp.js runs the build or has registered tsx already; left alone, oclif would look for a
  // tsconfig and register tsx (or ts-node) again whenever NODE_ENV is test or development.
  settings.enableAutoTranspile = false;

  try {
    // No user or dev plugins: idp ships every command itself, and skipping the lookup keeps
    // start-up fast (it would also read IDP_DATA_DIR, which is the server's data directory).
    await run(argv, { root: CLI_ROOT, userPlugins: false, devPlugins: false, jitPlugins: false });
  } catch (err) {
    // Errors outside a command (an unknown command, a broken install); commands render their own.
    process.exitCode = reportError(err, { format: outputFormatFromArgv(argv) });
  }
}

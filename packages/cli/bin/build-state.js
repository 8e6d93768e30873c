// Whether packages/cli/dist (the bundled CLI and server, scripts/build.ts) may run: the build
// records every source file it read with its size and modification time, and any difference
// means it is stale, so idp runs from TypeScript source instead (bin/idp.js). Plain JavaScript:
// it runs before any loader, on every start, and costs a stat per recorded input (a few ms).
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package) root: bin/ sits in packages/cli/. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
export const BUILD_INFO = `${DIST}build-info.json`;
/** The CLI's TypeScript source; an installed package (`npm pack`) ships without it. */
const SOURCE = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** [path relative to ROOT, size, mtimeMs] of one file, or null when it does not exist. */
export function fileStamp(rel) {
  try {
    const s = statSync(ROOT + rel);
    return [rel, s.size, s.mtimeMs];
  } catch {
    return null;
  }
}

function readInfo() {
  try {
    return JSON.parse(readFileSync(BUILD_INFO, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * 'current': the build matches every input; 'packaged': a build without source beside it (an
 * installed package); otherwise why the build may not run ('missing', or the first changed input).
 */
export function buildState() {
  const info = readInfo();
  const hasSource = fileStamp(SOURCE.slice(ROOT.length)) !== null;
  if (info === null || !Array.isArray(info.inputs)) return { state: 'missing' };
  if (!hasSource) return { state: 'packaged' };
  for (const [rel, size, mtimeMs] of info.inputs) {
    const now = fileStamp(rel);
    if (now === null || now[1] !== size || now[2] !== mtimeMs) return { state: 'stale', changed: rel };
  }
  return { state: 'current' };
}

/** True when bin/idp.js may import the build. */
export function buildIsUsable() {
  const { state } = buildState();
  return state === 'current' || state === 'packaged';
}

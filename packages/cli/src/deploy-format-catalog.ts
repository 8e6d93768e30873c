// deploy.yaml's service and team against the catalog, as problems placed on the fields' YAML positions.
import type { DeclaredDeploySpec, DeployProblem } from '@idp/core';

/**
 * The team a catalog owner ref names, if it is a Group: `group:default/payments`,
 * `group:payments` and `payments` all give `payments`; a User or another namespace gives undefined.
 */
export function ownerTeam(owner: string): string | undefined {
  const match = /^(?:([^:/]+):)?(?:([^:/]+)\/)?([^:/]+)$/.exec(owner.trim().toLowerCase());
  if (!match) return undefined;
  const [, kind = 'group', namespace = 'default', name] = match;
  return kind === 'group' && namespace === 'default' ? name : undefined;
}

export interface Position {
  line: number;
  column: number;
}

/** What the catalog said about the file's service: absent, or present with this owner. */
export type CatalogFacts = { found: false } | { found: true; owner: string | undefined };

/**
 * Problems with the file's service and team against the catalog, placed on the fields' own
 * positions so they print like the schema's problems.
 */
export function catalogProblems(
  file: string,
  spec: DeclaredDeploySpec,
  facts: CatalogFacts,
  at: { name: Position; team: Position },
): DeployProblem[] {
  const { name, team } = spec.service;
  if (!facts.found) {
    return [
      {
        file,
        ...at.name,
        field: 'service.name',
        message: `"${name}" is not a Component in the catalog`,
        expected: 'the name of a catalog Component',
        hint: "Register the service's catalog-info.yaml (`idp catalog:register PATH`), or fix the name (`idp catalog:list --kind component`).",
      },
    ];
  }
  const owner = facts.owner ?? '';
  const ownerName = ownerTeam(owner);
  if (ownerName === team.toLowerCase()) return [];
  const problem: DeployProblem = {
    file,
    ...at.team,
    field: 'service.team',
    message: `"${team}" does not own ${name} in the catalog (its owner is ${owner === '' ? 'not set' : owner})`,
    expected: ownerName ? `${ownerName}, the owner in the catalog` : 'the Group that owns the service in the catalog',
    hint: `Set service.team to the owner shown by \`idp catalog:get ${name}\`, or change the owner in its catalog-info.yaml.`,
  };
  if (ownerName) problem.didYouMean = ownerName;
  return [problem];
}

/** Where a mapping value sits in a YAML text (1-based); the document's start when it is not there. */
export async function yamlPosition(text: string, path: readonly string[]): Promise<Position> {
  // Loaded on demand like in output.ts: most commands never read YAML.
  const { LineCounter, parseDocument, isNode } = await import('yaml');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const node = doc.getIn(path, true);
  const offset = isNode(node) && node.range ? node.range[0] : 0;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

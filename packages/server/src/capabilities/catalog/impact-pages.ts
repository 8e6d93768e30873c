// Impact reports in pages: the whole report is built once per catalog generation and target (a hub's
// runs to thousands of dependents), kept for a few targets, and sliced; a cursor names the
// generation it belongs to, so a page never mixes two versions of the catalog.
import { IdpError, type ImpactReport } from '@idp/contracts';

/** Reports kept: the targets asked about last. */
const KEPT = 16;

interface Cursor {
  /** The catalog generation the report was built from. */
  g: number;
  ref: string;
  /** Dependents already answered. */
  o: number;
}

export class ImpactPages {
  private readonly reports = new Map<string, ImpactReport>();

  /** The whole report for `ref` at `generation`, built by `build` on first use. */
  report(generation: number, ref: string, build: () => ImpactReport): ImpactReport {
    const key = `${generation}\u0000${ref}`;
    let report = this.reports.get(key);
    if (report) {
      this.reports.delete(key);
    } else {
      report = build();
      if (this.reports.size >= KEPT) this.reports.delete(this.reports.keys().next().value!);
    }
    this.reports.set(key, report);
    return report;
  }

  /** Where a paged request starts: the offset its cursor carries (0 without one). */
  static offset(generation: number, ref: string, cursorText: string | undefined): number {
    if (!cursorText) return 0;
    const cursor = decode(cursorText);
    if (cursor.ref !== ref)
      throw new IdpError('VALIDATION_FAILED', `the cursor belongs to the impact report of ${cursor.ref}, not ${ref}`, {
        field: 'cursor',
        hint: 'Pass the nextCursor of the previous page with the same ref.',
      });
    if (cursor.g !== generation)
      throw new IdpError('CATALOG_CURSOR_STALE', 'the catalog changed since the first page of this impact report', {
        field: 'cursor',
      });
    return cursor.o;
  }

  /** One page of a whole report: its dependents from `offset`, every team with this page's refs. */
  static page(report: ImpactReport, generation: number, offset: number, limit: number): ImpactReport {
    const dependents = report.dependents.slice(offset, offset + limit);
    const refs = new Map<string, string[]>();
    for (const d of dependents) if (d.owner) (refs.get(d.owner) ?? refs.set(d.owner, []).get(d.owner)!).push(d.ref);
    const end = offset + dependents.length;
    return {
      target: report.target,
      dependents,
      teams: report.teams.map((t) => ({
        team: t.team,
        contact: t.contact,
        refs: refs.get(t.team) ?? [],
        total: t.refs.length,
      })),
      cycles: report.cycles,
      total: report.dependents.length,
      nextCursor: end < report.dependents.length ? encode({ g: generation, ref: report.target, o: end }) : null,
    };
  }
}

function encode(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decode(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof c.g === 'number' && typeof c.ref === 'string' && Number.isInteger(c.o) && c.o! >= 0) return c as Cursor;
  } catch {
    // reported below
  }
  throw new IdpError('VALIDATION_FAILED', 'the cursor is not one an impact report gave', {
    field: 'cursor',
    hint: 'Pass the nextCursor of the previous page as it was, or leave it out to start again.',
  });
}

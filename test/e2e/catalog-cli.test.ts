import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, startTestServer, type CliResult, type TestServer } from '../support/server.ts';

// The catalog commands through the real `idp` executable against a real control plane that has
// loaded examples/acme. Each spawn costs about half a second, so independent invocations run a
// few at a time and each test asserts on a batch of them.

const CONCURRENCY = 3;

describe('idp catalog, oncall and team commands against the acme catalog', () => {
  let server: TestServer;
  let env: Record<string, string>;
  const idp = (...args: string[]) => runCli(args, env);

  /** Runs the command lines a few at a time; results come back in the order given. */
  async function batch<const L extends readonly (readonly string[])[]>(
    lines: L,
  ): Promise<{ [K in keyof L]: CliResult }> {
    const results: CliResult[] = new Array(lines.length);
    let next = 0;
    const worker = async () => {
      while (next < lines.length) {
        const i = next++;
        results[i] = await runCli([...lines[i]!], env);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return results as { [K in keyof L]: CliResult };
  }

  function ok(result: CliResult): CliResult {
    expect(result.code, result.stderr).toBe(0);
    return result;
  }

  const json = (result: CliResult) => JSON.parse(ok(result).stdout);

  beforeAll(async () => {
    server = await startTestServer();
    env = { IDP_URL: server.url, IDP_TOKEN: server.adminToken };
  });
  afterAll(async () => server?.stop());

  it('lists, shows and traces entities, in table and JSON form', async () => {
    const [list, listJson, get, getJson, deps, depsJson, depsShallow, impact, impactJson] = await batch([
      ['catalog:list', '--kind', 'component'],
      ['catalog:list', '--kind', 'component', '--output', 'json'],
      ['catalog:get', 'payments-api'],
      ['catalog:get', 'payments-api', '-o', 'json'],
      ['catalog:deps', 'payments-api'],
      ['catalog:deps', 'payments-api', '-o', 'json'],
      ['catalog:deps', 'payments-api', '--depth', '1', '-o', 'json'],
      ['catalog:impact', 'users-api'],
      ['catalog:impact', 'users-api', '-o', 'json'],
    ]);

    ok(list);
    expect(list.stdout.split('\n')[0]).toMatch(/^REF\s+KIND\s+TYPE\s+OWNER\s+LIFECYCLE$/);
    expect(list.stdout).toMatch(/^component:payments-api\s+Component\s+\S+\s+payments\s/m);
    const page = json(listJson);
    expect(page).toMatchObject({ totalItems: expect.any(Number), nextCursor: null });
    expect(page.items.length).toBe(page.totalItems);
    expect(page.items.every((e: any) => e.kind.toLowerCase() === 'component')).toBe(true);
    expect(page.items.map((e: any) => e.metadata.name)).toEqual(
      expect.arrayContaining(['payments-api', 'users-api', 'notifications-service']),
    );

    ok(get);
    expect(get.stdout).toMatch(/^Ref:\s+component:payments-api$/m);
    expect(get.stdout).toMatch(/^Kind:\s+Component$/m);
    expect(get.stdout).toMatch(/^Owner:\s+payments$/m);
    expect(get.stdout).toMatch(/^Relations:$/m);
    expect(get.stdout).toMatch(/^ {2}ownedBy\s+payments$/m);
    const entity = json(getJson);
    expect(entity).toMatchObject({ kind: 'Component', metadata: { name: 'payments-api' } });
    expect(entity.relations).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'ownedBy', targetRef: 'group:default/payments' })]),
    );

    ok(deps);
    const lines = deps.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('component:payments-api (payments)');
    expect(deps.stdout).toMatch(/^[├└]── component:users-api \(\S+\)/m);
    expect(deps.stdout).toMatch(/^[├└]── component:notifications-service \(\S+\)/m);
    expect(lines.slice(1).every((l) => /^[│├└ ]/.test(l))).toBe(true);
    const tree = json(depsJson);
    expect(tree.root).toMatchObject({
      ref: 'component:default/payments-api',
      owner: 'group:default/payments',
      missing: false,
      cycle: false,
    });
    expect(tree.root.children.map((c: any) => c.ref)).toEqual(
      expect.arrayContaining(['component:default/users-api', 'component:default/notifications-service']),
    );
    const shallow = json(depsShallow);
    expect(shallow.depth).toBe(1);
    expect(shallow.root.children.every((c: any) => c.children.length === 0)).toBe(true);

    ok(impact);
    expect(impact.stdout).toMatch(/^\d+ entit(y depends|ies depend) on component:users-api\.$/m);
    const depth1 = impact.stdout.split(/^Depth 2/m)[0]!.split('Depth 1 (depend on it directly):')[1]!;
    expect(depth1).toMatch(/^ {2}component:payments-api\s+component\s+payments\s+\S+/m);
    expect(impact.stdout).toMatch(/^Who must know:$/m);
    expect(impact.stdout).toMatch(/^ {2}payments\s+\S+\s+.*component:payments-api/m);
    const report = json(impactJson);
    expect(report.target).toBe('component:default/users-api');
    expect(report.dependents).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ref: 'component:default/payments-api', depth: 1, owner: 'group:default/payments' }),
      ]),
    );
    expect(report.teams.map((t: any) => t.team)).toContain('group:default/payments');
    expect(Array.isArray(report.cycles)).toBe(true);
  });

  it('answers on-call and team questions, and pages through entities', async () => {
    const [oncall, oncallJson, team, teamJson, teams, onePage, allPages] = await batch([
      ['oncall', 'payments-api'],
      ['oncall', 'payments-api', '-o', 'json'],
      ['team:get', 'payments'],
      ['team:get', 'payments', '-o', 'json'],
      ['team:list', '-o', 'json'],
      ['catalog:list', '--limit', '1'],
      ['catalog:list', '--limit', '1', '--all', '-o', 'json'],
    ]);

    ok(oncall);
    expect(oncall.stdout).toMatch(/^Contact:\s+\S+@\S+|^Contact:\s+\S+:\S+/m);
    expect(oncall.stdout).toMatch(/^Team:\s+payments$/m);
    expect(oncall.stdout).toMatch(/^Route:\n {2}1\. .*payments-api.*\n {2}2\. /m);
    const contact = json(oncallJson);
    expect(contact).toMatchObject({ team: 'group:default/payments', contact: expect.any(String) });
    expect(contact.route.length).toBeGreaterThan(1);

    ok(team);
    for (const name of ['alice', 'bob', 'carol'])
      expect(team.stdout).toMatch(new RegExp(`^ {2}${name}\\s+${name}@company\\.com\\s+direct$`, 'm'));
    expect(team.stdout).toMatch(/^Owns \(\d+\):\n(?: {2}.*\n)*? {2}component:payments-api\s/m);
    const payments = json(teamJson);
    expect(payments).toMatchObject({
      ref: 'group:default/payments',
      name: 'payments',
      parent: 'group:default/engineering',
    });
    expect(payments.members.map((m: any) => m.ref)).toEqual(
      expect.arrayContaining(['user:default/alice', 'user:default/bob', 'user:default/carol']),
    );
    expect(payments.owns.map((o: any) => o.ref)).toContain('component:default/payments-api');
    expect(json(teams).items.map((t: any) => t.name)).toEqual(
      expect.arrayContaining(['engineering', 'payments', 'identity', 'platform']),
    );

    ok(onePage);
    expect(onePage.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(onePage.stderr).toMatch(/^Showing 1 of \d+\. Next page: --cursor \S+/m);
    const all = json(allPages);
    expect(all.nextCursor).toBeNull();
    expect(all.items.length).toBe(all.totalItems);
    expect(
      new Set(all.items.map((e: any) => `${e.kind}:${e.metadata.namespace ?? 'default'}/${e.metadata.name}`)).size,
    ).toBe(all.totalItems);
  });

  it('pages an impact report with --limit and --cursor, page by page to the whole report', async () => {
    const whole = json(await idp('catalog:impact', 'users-api', '-o', 'json'));
    const refs = whole.dependents.map((d: any) => d.ref);
    expect(refs.length).toBeGreaterThanOrEqual(2);

    const first = ok(await idp('catalog:impact', 'users-api', '--limit', '1'));
    expect(first.stderr).toMatch(
      new RegExp(`^1 of ${refs.length} dependents shown; next page: --limit 1 --cursor \\S+$`, 'm'),
    );
    expect(first.stdout).toContain(refs[0]!.replace(/^(\w+):default\//, '$1:'));

    const paged: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page <= refs.length; page++) {
      const r = json(
        await idp('catalog:impact', 'users-api', '--limit', '1', ...(cursor ? ['--cursor', cursor] : []), '-o', 'json'),
      );
      expect(r.total).toBe(refs.length);
      paged.push(...r.dependents.map((d: any) => d.ref));
      cursor = r.nextCursor ?? null;
      if (!cursor) break;
    }
    expect(paged).toEqual(refs);

    const firstCursor = /--cursor (\S+)$/m.exec(first.stderr)![1]!;
    const [foreign, garbage, cursorAlone] = await batch([
      ['catalog:impact', 'payments-api', '--limit', '1', '--cursor', firstCursor],
      ['catalog:impact', 'users-api', '--limit', '1', '--cursor', 'not-a-cursor'],
      ['catalog:impact', 'users-api', '--cursor', 'abc'],
    ]);
    expect(foreign.code).not.toBe(0);
    expect(foreign.stderr).toMatch(
      /^Error \[VALIDATION_FAILED\]: the cursor belongs to the impact report of component:default\/users-api/m,
    );
    expect(garbage.code).not.toBe(0);
    expect(garbage.stderr).toMatch(/^Error \[VALIDATION_FAILED\]: the cursor is not one an impact report gave/m);
    expect(cursorAlone.code).not.toBe(0);
    expect(cursorAlone.stderr).toMatch(/--limit/);
  });

  it('reports unknown refs as not found (exit 4) with a hint, in text and JSON', async () => {
    const [missing, missingJson, noTeam, noLocation] = await batch([
      ['catalog:get', 'no-such-thing'],
      ['catalog:get', 'no-such-thing', '-o', 'json'],
      ['team:get', 'no-such-team'],
      ['catalog:refresh', 'no-such-location'],
    ]);

    for (const r of [missing, noTeam, noLocation]) {
      expect(r.code, r.stderr).toBe(4);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^Error \[NOT_FOUND\]: .+\nTry this: .+/m);
    }
    expect(missing.stderr).toMatch(/no-such-thing/);
    expect(missingJson.code).toBe(4);
    expect(JSON.parse(missingJson.stderr).error).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('no-such-thing'),
    });
  });

  it('registers a location by relative path, shows its errors, refreshes and unregisters it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-catalog-cli-'));
    try {
      writeFileSync(
        join(dir, 'catalog-info.yaml'),
        [
          'apiVersion: backstage.io/v1alpha1',
          'kind: Component',
          'metadata:',
          '  name: e2e-probe',
          '  description: Registered by the catalog CLI test',
          'spec:',
          '  type: service',
          '  lifecycle: experimental',
          '  owner: payments',
          '  dependsOn: [component:users-api]',
          '---',
          'apiVersion: backstage.io/v1alpha1',
          'kind: Component',
          'metadata:',
          '  description: no name, so it cannot be loaded',
          'spec: {type: service, lifecycle: experimental, owner: payments}',
          '',
        ].join('\n'),
      );
      // runCli works in the repository root; the CLI must send the path made absolute.
      const target = relative(ROOT, dir);

      const dry = await idp('catalog:register', target, '--dry-run', '-o', 'json');
      const preview = json(dry);
      expect(preview).toMatchObject({ added: 1, errors: 1 });
      expect(preview.location.target).toBe(dir);
      expect(dry.stderr).toMatch(/Dry run: nothing was stored/);

      const registered = await idp('catalog:register', target);
      ok(registered);
      expect(registered.stdout).toMatch(/^Added:\s+1$/m);
      expect(registered.stdout).toMatch(/^Errors:\s+1$/m);
      const id = /^Location:\s+(\S+)$/m.exec(registered.stdout)?.[1];
      expect(id).toBeTruthy();
      expect(registered.stderr).toContain(`idp catalog:errors --location ${id}`);

      const [locations, errors, errorsJson, probe, usersImpact, refreshOne, again] = await batch([
        ['catalog:locations', '-o', 'json'],
        ['catalog:errors', '--location', id!],
        ['catalog:errors', '--location', id!, '-o', 'json'],
        ['catalog:get', 'e2e-probe', '-o', 'json'],
        ['catalog:impact', 'users-api', '-o', 'json'],
        ['catalog:refresh', id!, '-o', 'json'],
        ['catalog:register', target],
      ]);
      expect(json(locations).items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id, type: 'file', target: dir, origin: 'api', entities: 1, errors: 1 }),
        ]),
      );
      ok(errors);
      // Errors first, under their own heading (warnings, when there are any, come apart after them).
      expect(errors.stdout.split('\n').slice(0, 2).join('\n')).toMatch(
        /^Errors \(refused\):\nLOCATION\s+FILE:LINE\s+ENTITY\s+MESSAGE$/,
      );
      expect(errors.stdout).toMatch(new RegExp(`^file:${dir}\\s+\\S*catalog-info\\.yaml(:\\d+)?\\s`, 'm'));
      expect(json(errorsJson).items).toEqual([
        expect.objectContaining({ location: `file:${dir}`, message: expect.any(String) }),
      ]);
      expect(json(probe).spec).toMatchObject({ owner: 'payments' });
      expect(json(usersImpact).dependents.map((d: any) => d.ref)).toContain('component:default/e2e-probe');
      expect(json(refreshOne)).toMatchObject({ location: { id }, added: 0, removed: 0, unchanged: 1, errors: 1 });
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^Error \[CATALOG_LOCATION_EXISTS\]: /m);

      const refreshAll = await idp('catalog:refresh', '-o', 'json');
      expect(json(refreshAll).items.map((r: any) => r.location.id)).toContain(id);
      expect(refreshAll.stderr).toMatch(/^Refreshing every catalog location/m);

      const unregistered = await idp('catalog:unregister', id!);
      ok(unregistered);
      expect(unregistered.stdout).toBe('');
      const [gone, goneLocation] = await batch([
        ['catalog:get', 'e2e-probe'],
        ['catalog:errors', '--location', id!],
      ]);
      expect(gone.code).toBe(4);
      expect(goneLocation.code).toBe(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, runCli, startServerProcess, type CliResult } from '../support/server.ts';
import { findLeaks, SecretValues } from './secrets-fixtures.ts';

// The secret:* and access:* commands through the real `idp` executable, against `idp server`
// running as its own process with debug logging and a log line per request, the way an operator
// would run it. Afterwards the data dir and everything the server printed are scanned for every
// secret value the commands handled.

describe('idp secret:* and access:* against a real control plane process', () => {
  const values = new SecretValues();
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-secrets-cli-'));
  const scratch = mkdtempSync(join(tmpdir(), 'idp-secrets-scratch-'));
  const cliOutput: string[] = [];
  let server: Awaited<ReturnType<typeof startServerProcess>>;
  let stoppedOutput = '';
  const env: Record<string, Record<string, string>> = {};

  const idp = async (user: string, args: string[], stdin?: string): Promise<CliResult> => {
    const res = await runCli(args, env[user]!, stdin);
    // What the CLI printed is scanned too, except secret:get's own answer (printing it is its job).
    if (args[0] !== 'secret:get') cliOutput.push(res.stdout, res.stderr);
    return res;
  };
  const ok = (res: CliResult) => {
    expect(res.code, res.stderr).toBe(0);
    return res;
  };

  beforeAll(async () => {
    server = await startServerProcess(['--data-dir', dataDir], {
      IDP_LOG_LEVEL: 'debug',
      IDP_LOG_REQUESTS: '1',
      IDP_ADMIN_TOKEN: 'secrets-cli-admin',
    });
    env.admin = { IDP_URL: server.url, IDP_TOKEN: 'secrets-cli-admin' };
    await Promise.all(
      ['alice', 'bob', 'dave'].map(async (u) => {
        const res = ok(await runCli(['token:create', '--user', `${u}@company.com`, '-o', 'json'], env.admin!));
        env[u] = { IDP_URL: server.url, IDP_TOKEN: JSON.parse(res.stdout).token };
      }),
    );
  });
  afterAll(async () => {
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await exited(server.child);
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('creates the master key 0600 on first start and names where it is, never the key', () => {
    const keyFile = join(dataDir, 'master.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(server.output()).toContain(`created in ${keyFile}`);
    expect(server.output()).not.toContain(readFileSync(keyFile, 'utf8').trim());
  });

  it('sets from stdin and from a file, gets, lists, shows versions and deletes', async () => {
    const piped = values.make('piped');
    const fromFile = `${values.make('file')}\nsecond line\n`;
    writeFileSync(join(scratch, 'value.txt'), fromFile);
    const [set1, set2] = await Promise.all([
      idp('alice', ['secret:set', 'staging/payments-api/STRIPE_KEY'], `${piped}\n`),
      idp('alice', ['secret:set', 'staging/payments-api/TLS_KEY', '--from-file', join(scratch, 'value.txt')]),
    ]);
    expect(ok(set1).stdout).toMatch(/^Path:\s+staging\/payments-api\/STRIPE_KEY$/m);
    expect(set1.stdout).toMatch(/^Version:\s+1$/m);
    expect(set1.stderr).toContain('Set staging/payments-api/STRIPE_KEY (version 1).');
    ok(set2);
    const rotated = values.make('rotated');
    // Piped without a newline (printf %s): stored as is.
    ok(await idp('bob', ['secret:set', 'staging/payments-api/STRIPE_KEY'], rotated));

    const [get, getOld, getFile, getJson, list, versions] = await Promise.all([
      idp('alice', ['secret:get', 'staging/payments-api/STRIPE_KEY']),
      idp('alice', ['secret:get', 'staging/payments-api/STRIPE_KEY', '--version', '1']),
      idp('alice', ['secret:get', 'staging/payments-api/TLS_KEY']),
      idp('alice', ['secret:get', 'staging/payments-api/STRIPE_KEY', '-o', 'json']),
      idp('alice', ['secret:list', '--env', 'staging']),
      idp('alice', ['secret:versions', 'staging/payments-api/STRIPE_KEY']),
    ]);
    // The trailing newline from the pipe was dropped; --from-file is exact; get adds one newline.
    expect(ok(get).stdout).toBe(`${rotated}\n`);
    expect(ok(getOld).stdout).toBe(`${piped}\n`);
    expect(ok(getFile).stdout).toBe(`${fromFile}\n`);
    expect(JSON.parse(ok(getJson).stdout)).toMatchObject({
      path: 'staging/payments-api/STRIPE_KEY',
      version: 2,
      value: rotated,
    });
    expect(ok(list).stdout.split('\n')[0]).toMatch(/^PATH\s+VERSION\s+UPDATED\s+UPDATED BY$/);
    expect(list.stdout).toMatch(/^staging\/payments-api\/STRIPE_KEY\s+2\s+\S+\s+bob$/m);
    expect(ok(versions).stdout).toMatch(/^2\s+\S+\s+bob\s+yes$/m);
    expect(versions.stdout).toMatch(/^1\s+\S+\s+alice\s+no$/m);

    const del = ok(await idp('alice', ['secret:delete', 'staging/payments-api/TLS_KEY']));
    expect(del.stderr).toContain('Deleted staging/payments-api/TLS_KEY');
    const gone = await idp('alice', ['secret:get', 'staging/payments-api/TLS_KEY']);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toMatch(/Error \[SECRET_NOT_FOUND\]: secret staging\/payments-api\/TLS_KEY was deleted/);
  });

  it('fails clearly: bad paths, an empty value, another team, an unknown service', async () => {
    const [badPath, fourParts, empty, otherTeam, unknown, otherList] = await Promise.all([
      idp('alice', ['secret:get', 'staging/payments-api']),
      idp('alice', ['secret:get', 'staging/payments-api/A/B']),
      idp('alice', ['secret:set', 'staging/payments-api/EMPTY'], '\n'),
      idp('dave', ['secret:get', 'staging/payments-api/STRIPE_KEY']),
      idp('alice', ['secret:set', 'staging/no-such-service/KEY'], values.make('unknown-service')),
      idp('alice', ['secret:list', '--env', 'staging', '--service', 'users-api']),
    ]);
    expect([badPath.code, fourParts.code, empty.code, otherTeam.code, unknown.code, otherList.code]).toEqual([
      2, 2, 2, 3, 4, 3,
    ]);
    expect(badPath.stderr).toMatch(/^Error \[SECRET_PATH_INVALID\]/m);
    expect(badPath.stderr).toMatch(/^Try this: /m);
    expect(empty.stderr).toMatch(/Error \[USAGE\]: no value on stdin/);
    expect(otherTeam.stderr).toMatch(/Error \[POLICY_DENIED\]/);
    expect(unknown.stderr).toMatch(/Error \[NOT_FOUND\]: no service "no-such-service" in the catalog/);
  });

  it('access: approved by rule for owners, pending for others, approve/deny/revoke, errors with exit codes', async () => {
    ok(await idp('alice', ['secret:set', 'production/payments-api/STRIPE_KEY'], values.make('prod')));
    const [own, pendingRes] = await Promise.all([
      idp('alice', [
        'access:request',
        '--secret=production/payments-api/STRIPE_KEY',
        '--reason=INC-123',
        '--duration=2h',
      ]),
      idp('dave', [
        'access:request',
        '--secret',
        'production/payments-api/*',
        '--reason',
        'INC-124',
        '--duration',
        '1h',
        '-o',
        'json',
      ]),
    ]);
    expect(ok(own).stderr).toMatch(/approved at once by rule access\/owners-auto-approve; expires \d{4}-\d\d-\d\dT/);
    expect(own.stdout).toMatch(/^Decided by:\s+rule access\/owners-auto-approve$/m);
    expect(own.stdout).toMatch(/^Expires:\s+\d{4}-/m);
    const pending = JSON.parse(ok(pendingRes).stdout);
    expect(pending).toMatchObject({
      status: 'pending',
      approvers: ['user:default/alice', 'user:default/bob', 'user:default/carol'],
    });
    const [toReview, mine, self, badDuration, noReason, tooLong] = await Promise.all([
      idp('alice', ['access:list', '--to-review']),
      idp('dave', ['access:list', '--mine', '-o', 'json']),
      idp('dave', ['access:approve', pending.id]),
      idp('dave', ['access:request', '--secret', 'production/payments-api/X', '--reason', 'r', '--duration', '2x']),
      idp('dave', ['access:request', '--secret', 'production/payments-api/X']),
      idp('dave', ['access:request', '--secret', 'production/payments-api/X', '--reason', 'r', '--duration', '5h']),
    ]);
    expect(ok(toReview).stdout).toMatch(
      new RegExp(`^${pending.id}\\s+pending\\s+dave\\s+production/payments-api/\\*\\s+1h\\s`, 'm'),
    );
    expect(JSON.parse(ok(mine).stdout).items.map((r: any) => r.id)).toEqual([pending.id]);
    expect([self.code, badDuration.code, noReason.code, tooLong.code]).toEqual([3, 2, 2, 2]);
    expect(self.stderr).toMatch(/Error \[ACCESS_SELF_APPROVAL\]/);
    expect(badDuration.stderr).toMatch(/Error \[INVALID_DURATION\]/);
    expect(noReason.stderr).toMatch(/Error \[USAGE\]: Missing required flag reason/);
    expect(tooLong.stderr).toMatch(/Error \[ACCESS_DURATION_TOO_LONG\]: duration 5h is above the maximum of 4h/);

    const [approved, another] = await Promise.all([
      idp('bob', ['access:approve', pending.id, '--duration', '30m']),
      idp('dave', [
        'access:request',
        '--secret',
        'production/payments-api/STRIPE_KEY',
        '--reason',
        'INC-125',
        '-o',
        'json',
      ]),
    ]);
    expect(ok(approved).stdout).toMatch(/^Status:\s+approved$/m);
    expect(approved.stdout).toMatch(/^Decided by:\s+bob$/m);
    const anotherId = JSON.parse(ok(another).stdout).id;
    const [twice, read, missingReason] = await Promise.all([
      idp('alice', ['access:approve', pending.id]),
      idp('dave', ['secret:get', 'production/payments-api/STRIPE_KEY']),
      idp('alice', ['access:deny', anotherId]),
    ]);
    expect([twice.code, /ACCESS_ALREADY_DECIDED/.test(twice.stderr)]).toEqual([1, true]);
    expect(ok(read).stdout).toMatch(/^sv-prod-/);
    expect(missingReason.code).toBe(2);
    const [revoked, denied] = await Promise.all([
      idp('alice', ['access:revoke', pending.id, '--reason', 'incident closed']),
      idp('alice', ['access:deny', anotherId, '--reason', 'use staging']),
    ]);
    expect(ok(revoked).stdout).toMatch(/^Status:\s+revoked$/m);
    expect(ok(denied).stdout).toMatch(/^Outcome:\s+denied by alice: use staging$/m);

    const [after, stats] = await Promise.all([
      idp('dave', ['secret:get', 'production/payments-api/STRIPE_KEY']),
      idp('admin', ['access:stats']),
    ]);
    expect(after.code).toBe(3);
    expect(ok(stats).stdout).toMatch(/^Requests:\s+3$/m);
    expect(stats.stdout).toMatch(/^By outcome:\s+pending 0, approved 1, denied 1, expired 0, revoked 1$/m);
    expect(stats.stdout).toMatch(/^Approved by rule:\s+1 \(33% of decided\)$/m);
  });

  it('issues a workload token (-o json has `token`) that reads through the Vault-compatible endpoint', async () => {
    const [res, table, denied] = await Promise.all([
      idp('bob', ['secret:token', '--env', 'staging', '--service', 'payments-api', '--ttl', '1h', '-o', 'json']),
      idp('bob', ['secret:token', '--env', 'staging', '--service', 'payments-api']),
      idp('dave', ['secret:token', '--env', 'staging', '--service', 'payments-api']),
    ]);
    const { token } = JSON.parse(ok(res).stdout);
    expect(token).toMatch(/^idpw_/);
    expect(ok(table).stdout.split('\n')[0]).toMatch(/^idpw_/);
    expect(table.stdout).toMatch(/^Vault path:\s+secret\/data\/staging\/payments-api$/m);
    const read = await fetch(`${server.url}/v1/secret/data/staging/payments-api`, {
      headers: { 'X-Vault-Token': token },
    });
    expect(read.status).toBe(200);
    expect(Object.keys(((await read.json()) as any).data.data)).toEqual(['STRIPE_KEY']);
    expect(denied.code).toBe(3);
  });

  it('after a clean stop, no secret value is in the data dir, the server output or the CLI tables', async () => {
    // Scanned while running (the WAL holds recent writes) and again after shutdown.
    expect(findLeaks(values.all, [dataDir], [server.output(), cliOutput.join('\n')])).toEqual([]);
    server.child.kill('SIGTERM');
    expect(await exited(server.child)).toBe(0);
    stoppedOutput = server.output();
    expect(stoppedOutput).toContain('"msg":"incoming request"');
    expect(findLeaks(values.all, [dataDir], [stoppedOutput, cliOutput.join('\n')])).toEqual([]);
  });

  it('refuses to start with a wrong IDP_MASTER_KEY, with a clear message, touching nothing', async () => {
    const keyFile = join(dataDir, 'master.key');
    const before = readFileSync(keyFile, 'utf8');
    const dbBefore = readFileSync(join(dataDir, 'idp.sqlite'));
    const wrong = Buffer.alloc(32, 3).toString('base64');
    const res = await runCli(['server', '--port', '0', '--data-dir', dataDir], {
      IDP_MASTER_KEY: wrong,
      IDP_ADMIN_TOKEN: 'x',
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /^Error \[MASTER_KEY_MISMATCH\]: the master key from IDP_MASTER_KEY is not the key this state store's secrets were encrypted with/m,
    );
    expect(res.stderr).toMatch(/^Try this: Start with the original key/m);
    expect(res.stderr).not.toContain(wrong);
    expect(readFileSync(keyFile, 'utf8')).toBe(before);
    expect(readFileSync(join(dataDir, 'idp.sqlite')).equals(dbBefore)).toBe(true);
  });
});

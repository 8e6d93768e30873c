import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { checkNodeEngine, formatInferred, inferDeploySpec, nodeEngineError, procfileWeb } from './infer.ts';
import { parseDeploySpec } from './parse.ts';
import type { DeclaredDeploySpec } from './spec.ts';

// The shape of the design's deploy.yaml: service, team, canary steps, healthcheck and rollback; no build, no run.
const DESIGN = `service: {name: payments-api, team: payments}
deploy:
  strategy: canary
  canary:
    - {weight: 10, pause: 5m}
    - {weight: 100}
  healthcheck: {path: /health, interval: 10s, threshold: 3}
  rollback: {auto: true, on_error_rate: ">1%"}
`;

function declared(text = DESIGN): DeclaredDeploySpec {
  const parsed = parseDeploySpec(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.spec;
}

const files =
  (contents: Record<string, string>) =>
  (path: string): string | null =>
    contents[path] ?? null;

const pkg = (extra: Record<string, unknown>) => JSON.stringify({ name: 'x', version: '1.0.0', ...extra });

describe('inferDeploySpec', () => {
  it('accepts the design file (no run, no build) and defaults to 2 replicas', () => {
    const spec = declared();
    expect(spec.run).toEqual({ command: null, replicas: 2 });
    expect(spec.build).toBeNull();
  });

  it('package.json scripts.start: npm start, built with npm ci --omit=dev when a lockfile pins it', () => {
    const result = inferDeploySpec(
      declared(),
      files({
        'package.json': pkg({ scripts: { start: 'node server.js' }, engines: { node: '>=20' } }),
        'package-lock.json': '{}',
      }),
    );
    expect(result.spec.run).toEqual({ command: 'npm start', replicas: 2 });
    expect(result.spec.build).toEqual({ command: 'npm ci --omit=dev' });
    expect(result.spec.deploy.canary).toHaveLength(2);
    expect(result.nodeRange).toBe('>=20');
    expect(result.inferred.map((n) => formatInferred(n, 'v20.20.2'))).toEqual([
      'run: npm start (inferred from package.json scripts.start)',
      'build: npm ci --omit=dev (inferred from package-lock.json)',
      'node: >=20 (from package.json engines; runtime has v20.20.2)',
    ]);
  });

  it('without a lockfile: npm install --omit=dev; npm-shrinkwrap.json counts as one', () => {
    const start = pkg({ scripts: { start: 'node server.js' } });
    expect(inferDeploySpec(declared(), files({ 'package.json': start })).spec.build).toEqual({
      command: 'npm install --omit=dev',
    });
    expect(
      inferDeploySpec(declared(), files({ 'package.json': start, 'npm-shrinkwrap.json': '{}' })).inferred[1],
    ).toEqual({ field: 'build', value: 'npm ci --omit=dev', from: 'npm-shrinkwrap.json' });
  });

  it('scripts.build: npm ci && npm run build', () => {
    const result = inferDeploySpec(
      declared(),
      files({
        'package.json': pkg({ scripts: { start: 'node dist/server.js', build: 'tsc' } }),
        'package-lock.json': '{}',
      }),
    );
    expect(result.spec.build).toEqual({ command: 'npm ci && npm run build' });
    expect(result.inferred[1]).toEqual({
      field: 'build',
      value: 'npm ci && npm run build',
      from: 'package.json scripts.build',
    });
  });

  it("a Procfile's web: line comes first; no build unless package.json asks for one", () => {
    const procfile = 'worker: node worker.js\nweb:   node web.js --port $PORT  \n';
    const alone = inferDeploySpec(declared(), files({ Procfile: procfile }));
    expect(alone.spec.run.command).toBe('node web.js --port $PORT');
    expect(alone.spec.build).toBeNull();
    expect(alone.inferred).toEqual([{ field: 'run', value: 'node web.js --port $PORT', from: 'Procfile web:' }]);

    const bare = inferDeploySpec(
      declared(),
      files({ Procfile: procfile, 'package.json': pkg({ scripts: { start: 'x' } }) }),
    );
    expect([bare.spec.run.command, bare.spec.build]).toEqual(['node web.js --port $PORT', null]);

    const withDeps = inferDeploySpec(
      declared(),
      files({ Procfile: procfile, 'package.json': pkg({ dependencies: { pg: '8.0.0' } }), 'package-lock.json': '{}' }),
    );
    expect(withDeps.spec.build).toEqual({ command: 'npm ci --omit=dev' });
  });

  it('a declared build is kept when the run command is inferred', () => {
    const text = DESIGN.replace('deploy:\n', 'build: {command: make}\nrun: {replicas: 3}\ndeploy:\n');
    const result = inferDeploySpec(declared(text), files({ 'package.json': pkg({ scripts: { start: 'x' } }) }));
    expect(result.spec.build).toEqual({ command: 'make' });
    expect(result.spec.run).toEqual({ command: 'npm start', replicas: 3 });
    expect(result.inferred.map((n) => n.field)).toEqual(['run']);
  });

  it('a declared run command is taken as written: nothing inferred but the engines.node report', () => {
    const text = DESIGN.replace('deploy:\n', 'run: {command: node server.js}\ndeploy:\n');
    const result = inferDeploySpec(
      declared(text),
      files({
        'package.json': pkg({ scripts: { start: 'x' }, engines: { node: '>=20' } }),
        'package-lock.json': '{}',
      }),
    );
    expect(result.spec.run.command).toBe('node server.js');
    expect(result.spec.build).toBeNull();
    expect(result.inferred).toEqual([{ field: 'node', value: '>=20', from: 'package.json engines.node' }]);
  });

  it('nothing to go on: DEPLOY_RUN_NOT_INFERRED naming the files looked for and the fix', () => {
    const attempt = (contents: Record<string, string>) => {
      try {
        inferDeploySpec(declared(), files(contents));
      } catch (err) {
        return err as IdpError;
      }
      throw new Error('expected an error');
    };
    const none = attempt({});
    expect(none).toBeInstanceOf(IdpError);
    expect(none.code).toBe('DEPLOY_RUN_NOT_INFERRED');
    expect(none.message).toMatch(/Procfile with a web: line.*package\.json with scripts\.start, found neither/);
    expect(String(none.details.hint)).toContain('run: {command:');
    expect(attempt({ Procfile: 'worker: x\n', 'package.json': pkg({ scripts: { test: 'x' } }) }).message).toContain(
      'found a Procfile without a web: line and a package.json without scripts.start',
    );
    expect(attempt({ 'package.json': '{not json' }).message).toContain('a package.json that is not a JSON object');
  });
});

describe('procfileWeb', () => {
  it('reads the web process only', () => {
    expect(procfileWeb('web: npm start')).toBe('npm start');
    expect(procfileWeb('release: x\r\nweb:bin/web\r\n')).toBe('bin/web');
    expect(procfileWeb('worker: x\nweb:\n')).toBeNull();
  });
});

describe('checkNodeEngine', () => {
  it('checks the range against the runtime version, with the wanted and available versions in the error', () => {
    expect(checkNodeEngine('>=20', 'v20.20.2').status).toBe('ok');
    expect(checkNodeEngine('^18 || ^20', 'v20.1.0').status).toBe('ok');
    const excluded = checkNodeEngine('>=22', 'v20.20.2');
    expect(excluded.status).toBe('excluded');
    const err = nodeEngineError(excluded)!;
    expect([err.code, err.details.wanted, err.details.available]).toEqual([
      'DEPLOY_NODE_UNSUPPORTED',
      '>=22',
      'v20.20.2',
    ]);
    expect(err.message).toBe('package.json wants Node.js >=22 (engines.node), but the runtime has v20.20.2');
    expect(checkNodeEngine('a lot', 'v20.0.0').status).toBe('unreadable');
    expect(nodeEngineError(checkNodeEngine('a lot', 'v20.0.0'))).toBeUndefined();
  });
});

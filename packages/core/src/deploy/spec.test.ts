import { describe, expect, it } from 'vitest';
import { closestMatch, editDistance } from './did-you-mean.ts';
import {
  DeploySpecSchema,
  deploySpecJsonSchema,
  formatProblems,
  parseDeploySpec,
  parseErrorRate,
  type DeployProblem,
  type DeclaredDeploySpec,
} from './index.ts';

const EXAMPLE = `# .idp/deploy.yaml
service: {name: payments-api, team: payments}
build: {command: npm ci --omit=dev}          # optional, once per release
run: {command: node server.js, replicas: 2}  # each replica gets PORT
deploy:
  strategy: canary                           # canary | rolling | recreate
  canary:
    - weight: 10
      pause: 5m
    - weight: 50
      pause: 10m
    - weight: 100
  healthcheck: {path: /health, interval: 10s, threshold: 3}
  rollback: {auto: true, on_error_rate: ">1%"}
`;

const MINIMAL_HEAD = `service: {name: users-api, team: users}
run: {command: node server.js}
`;

function problemsOf(text: string): DeployProblem[] {
  const result = parseDeploySpec(text);
  if (result.ok) throw new Error(`expected problems, got a spec: ${JSON.stringify(result.spec)}`);
  return result.problems;
}

function specOf(text: string): DeclaredDeploySpec {
  const result = parseDeploySpec(text);
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.spec;
}

/** The one problem on `field`, as the fields a test usually checks. */
function problemAt(text: string, field: string) {
  const matching = problemsOf(text).filter((p) => p.field === field);
  expect(matching, `problems on ${field}`).toHaveLength(1);
  const p = matching[0]!;
  return {
    at: `${p.line}:${p.column}`,
    message: p.message,
    expected: p.expected,
    hint: p.hint,
    didYouMean: p.didYouMean,
  };
}

describe('parseDeploySpec: valid files', () => {
  it('parses the issue example into the normalised spec', () => {
    expect(specOf(EXAMPLE)).toEqual({
      service: { name: 'payments-api', team: 'payments' },
      build: { command: 'npm ci --omit=dev' },
      run: { command: 'node server.js', replicas: 2 },
      deploy: {
        strategy: 'canary',
        canary: [
          { weight: 10, pauseSeconds: 300 },
          { weight: 50, pauseSeconds: 600 },
          { weight: 100, pauseSeconds: null },
        ],
        healthcheck: { path: '/health', intervalSeconds: 10, threshold: 3 },
        rollback: { auto: true, maxErrorRate: 0.01, minRequests: 20 },
      },
    } satisfies DeclaredDeploySpec);
  });

  it('fills in defaults, and picks rolling when no strategy and no steps are given', () => {
    expect(specOf(`${MINIMAL_HEAD}deploy:\n  healthcheck: {path: /health}\n`)).toEqual({
      service: { name: 'users-api', team: 'users' },
      build: null,
      run: { command: 'node server.js', replicas: 2 },
      deploy: {
        strategy: 'rolling',
        canary: [],
        healthcheck: { path: '/health', intervalSeconds: 10, threshold: 3 },
        rollback: { auto: true, maxErrorRate: 0.01, minRequests: 20 },
      },
    });
  });

  it('picks canary when steps are given without a strategy', () => {
    const spec = specOf(
      `${MINIMAL_HEAD}deploy:\n  canary: [{weight: 25}, {weight: 100, pause: 2h}]\n  healthcheck: {path: /health, interval: 1m}\n`,
    );
    expect(spec.deploy.strategy).toBe('canary');
    expect(spec.deploy.canary).toEqual([
      { weight: 25, pauseSeconds: null },
      { weight: 100, pauseSeconds: 7200 },
    ]);
    expect(spec.deploy.healthcheck.intervalSeconds).toBe(60);
  });

  it('reads fractional error rates and min_requests', () => {
    const spec = specOf(
      `${MINIMAL_HEAD}deploy:\n  strategy: recreate\n  healthcheck: {path: /}\n  rollback: {auto: false, on_error_rate: "> 0.5 %", min_requests: 100}\n`,
    );
    expect(spec.deploy.rollback).toEqual({ auto: false, maxErrorRate: 0.005, minRequests: 100 });
    expect(parseErrorRate('>0.7%')).toBe(0.007);
    expect(parseErrorRate('>0%')).toBe(0);
    expect(parseErrorRate('1%')).toBeUndefined();
  });

  it('validates plain data through the same schema (DeploySpecSchema)', () => {
    const parsed = DeploySpecSchema.safeParse({
      service: { name: 'a', team: 'b' },
      run: { command: 'x', replicas: 3 },
      deploy: { strategy: 'rolling', healthcheck: { path: '/h' } },
    });
    expect(parsed.success && parsed.data.run.replicas).toBe(3);
  });
});

describe('parseDeploySpec: unknown keys', () => {
  it('suggests the closest key at the same level', () => {
    const text = `${MINIMAL_HEAD.replace('node server.js}', 'node server.js, replica: 2}')}deploy:\n  helthcheck: {path: /health}\n`;
    expect(problemAt(text, 'run.replica')).toEqual({
      at: '2:32',
      message: 'unknown key "replica"',
      expected: 'one of command, replicas',
      hint: undefined,
      didYouMean: 'replicas',
    });
    expect(problemAt(text, 'deploy.helthcheck')).toMatchObject({ at: '4:3', didYouMean: 'healthcheck' });
    // The misspelt key also leaves the real one missing; that is reported on its parent key.
    expect(problemAt(text, 'deploy.healthcheck')).toMatchObject({ at: '3:1', message: 'is required' });
  });

  it('folds case and separators (minRequests → min_requests) and transpositions (stratgey)', () => {
    const text = `${MINIMAL_HEAD}deploy:\n  stratgey: rolling\n  healthcheck: {path: /h}\n  rollback: {minRequests: 5}\n`;
    expect(problemAt(text, 'deploy.stratgey')).toMatchObject({ at: '4:3', didYouMean: 'strategy' });
    expect(problemAt(text, 'deploy.rollback.minRequests')).toMatchObject({ at: '6:14', didYouMean: 'min_requests' });
  });

  it('points a key written at the wrong level to where it belongs', () => {
    const text = `${MINIMAL_HEAD}healthcheck: {path: /h}\ndeploy:\n  healthcheck: {path: /h}\n  replicas: 2\n`;
    expect(problemAt(text, 'healthcheck')).toMatchObject({
      at: '3:1',
      didYouMean: undefined,
      hint: '"healthcheck" belongs under deploy; move it there.',
    });
    expect(problemAt(text, 'deploy.replicas')).toMatchObject({
      at: '6:3',
      hint: '"replicas" belongs under run; move it there.',
    });
  });

  it('lists the known keys when nothing is close', () => {
    const text = `${MINIMAL_HEAD}deploy:\n  healthcheck: {path: /h}\n  zzz: 1\n`;
    expect(problemAt(text, 'deploy.zzz')).toMatchObject({
      at: '5:3',
      didYouMean: undefined,
      hint: 'Known keys here: strategy, canary, healthcheck, rollback.',
    });
  });
});

describe('parseDeploySpec: bad values', () => {
  it('names the value, the field and what was expected, at the value', () => {
    const text = `service: {name: Payments, team: payments}\nrun: {command: node s.js, replicas: 25}\ndeploy:\n  strategy: canery\n  canary: [{weight: 100}]\n  healthcheck: {path: health, interval: 10, threshold: 0}\n  rollback: {auto: yes, on_error_rate: "1%"}\n`;
    expect(problemAt(text, 'service.name')).toMatchObject({
      at: '1:17',
      message: '"Payments" is not a DNS-1123 label',
      expected: 'a DNS-1123 label such as payments-api',
    });
    expect(problemAt(text, 'run.replicas')).toMatchObject({
      at: '2:37',
      message: '25 is above 20',
      expected: 'an integer from 1 to 20',
    });
    expect(problemAt(text, 'deploy.strategy')).toMatchObject({
      at: '4:13',
      message: '"canery" is not one of canary, rolling, recreate',
      didYouMean: 'canary',
    });
    expect(problemAt(text, 'deploy.healthcheck.path')).toMatchObject({
      at: '6:23',
      message: '"health" does not start with /',
    });
    expect(problemAt(text, 'deploy.healthcheck.interval')).toMatchObject({
      at: '6:41',
      message: 'got the number 10',
      hint: 'Add a unit, e.g. 10s.',
    });
    expect(problemAt(text, 'deploy.healthcheck.threshold')).toMatchObject({ at: '6:56', message: '0 is below 1' });
    expect(problemAt(text, 'deploy.rollback.auto')).toMatchObject({
      at: '7:20',
      message: 'got the text "yes"',
      expected: 'true or false',
      hint: 'YAML 1.2 reads yes, no, on and off as text; write true or false.',
    });
    expect(problemAt(text, 'deploy.rollback.on_error_rate')).toMatchObject({
      at: '7:40',
      message: '"1%" is not an error-rate threshold',
      hint: 'Write it as ">1%", in quotes.',
    });
  });

  it('checks canary steps: range, order, the final 100, durations and quoted numbers', () => {
    const text = [
      MINIMAL_HEAD,
      'deploy:\n',
      '  canary:\n',
      '    - weight: 50\n',
      '      pause: 5 minutes\n',
      '    - weight: 20\n',
      '    - {weight: "60"}\n',
      '    - weight: 101\n',
      '    - weight: 90\n',
      '  healthcheck: {path: /h}\n',
    ].join('');
    expect(problemAt(text, 'deploy.canary[0].pause')).toMatchObject({
      at: '6:14',
      message: '"5 minutes" is not a duration',
      hint: 'Use one number and one unit (s, m, h or d): 30s, 5m, 2h, 7d; 90m for an hour and a half.',
    });
    expect(problemAt(text, 'deploy.canary[1].weight')).toMatchObject({
      at: '7:15',
      message: "20 is not greater than the previous step's 50",
    });
    expect(problemAt(text, 'deploy.canary[2].weight')).toMatchObject({
      at: '8:16',
      message: 'got the text "60"',
      hint: 'Remove the quotes: 60.',
    });
    expect(problemAt(text, 'deploy.canary[3].weight')).toMatchObject({ at: '9:15', message: '101 is above 100' });
    expect(problemAt(text, 'deploy.canary[4].weight')).toMatchObject({
      at: '10:15',
      message: 'the last step is 90, so the new release would never be promoted',
      hint: 'End the steps with {weight: 100}.',
    });
  });

  it('requires steps for canary (pointing at the strategy) and refuses them otherwise (pointing at the key)', () => {
    expect(
      problemAt(`${MINIMAL_HEAD}deploy:\n  strategy: canary\n  healthcheck: {path: /h}\n`, 'deploy.canary'),
    ).toMatchObject({
      at: '4:13',
      message: 'is required when strategy is canary',
    });
    expect(
      problemAt(
        `${MINIMAL_HEAD}deploy:\n  strategy: recreate\n  canary: [{weight: 100}]\n  healthcheck: {path: /h}\n`,
        'deploy.canary',
      ),
    ).toMatchObject({ at: '5:3', message: 'is not allowed with strategy recreate' });
    expect(
      problemAt(`${MINIMAL_HEAD}deploy:\n  canary: []\n  healthcheck: {path: /h}\n`, 'deploy.canary'),
    ).toMatchObject({
      at: '4:11',
      message: 'has no steps',
    });
  });

  it('reports missing keys at their parent key, and empty values at the key', () => {
    const text = `service: {name: a}\nrun:\n  replicas: 2\nbuild:\ndeploy:\n  canary:\n    - pause: 1m\n  healthcheck: {path: /h}\n`;
    expect(problemAt(text, 'service.team')).toMatchObject({
      at: '1:1',
      message: 'is required',
      expected: 'a DNS-1123 label such as payments',
    });
    // run.command may be left out: it is inferred from the release (infer.ts).
    expect(problemsOf(text).some((p) => p.field.startsWith('run'))).toBe(false);
    expect(problemAt(text, 'build')).toMatchObject({
      at: '4:1',
      message: 'is empty',
      hint: 'Give it a value, or remove the key.',
    });
    expect(problemAt(text, 'deploy.canary[0].weight')).toMatchObject({ at: '7:7', message: 'is required' });
  });

  it('reports a missing top-level section, an empty file and a file that is not a mapping', () => {
    expect(problemAt('service: {name: a, team: b}\nrun: {command: x}\n', 'deploy')).toMatchObject({
      at: '1:1',
      message: 'is required',
    });
    expect(problemsOf('')).toEqual([
      {
        file: '.idp/deploy.yaml',
        line: 1,
        column: 1,
        field: '',
        message: 'the file is empty',
        expected: 'a mapping with service and deploy (build and run optional)',
      },
    ]);
    expect(problemsOf('- a\n- b\n')[0]).toMatchObject({ field: '', message: 'the file holds a list' });
  });

  it('refuses an error rate that can never be exceeded', () => {
    const text = `${MINIMAL_HEAD}deploy:\n  healthcheck: {path: /h}\n  rollback: {on_error_rate: ">100%"}\n`;
    expect(problemAt(text, 'deploy.rollback.on_error_rate')).toMatchObject({
      at: '5:29',
      message: '">100%" is 100% or more, so it can never be exceeded',
    });
  });
});

describe('parseDeploySpec: YAML syntax', () => {
  it('reports an unquoted ">1%" with its position, field and a hint', () => {
    const problems = problemsOf(
      `${MINIMAL_HEAD}deploy:\n  healthcheck: {path: /h}\n  rollback:\n    on_error_rate: >1%\n`,
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      line: 6,
      column: 22, // yaml points at the characters after the > it took for a block header
      field: 'deploy.rollback.on_error_rate',
      expected: 'valid YAML',
      hint: 'Quote values that start with > or |, e.g. on_error_rate: ">1%".',
    });
    expect(problems[0]!.message).toMatch(/^YAML syntax: .*block scalar/i);
  });

  it('reports a duplicate key at the second occurrence', () => {
    expect(problemsOf('service:\n  name: a\n  name: b\n')).toEqual([
      {
        file: '.idp/deploy.yaml',
        line: 3,
        column: 3,
        field: 'service.name',
        message: 'this key appears twice in the same mapping',
        expected: 'valid YAML',
        hint: 'Keep one of them.',
      },
    ]);
  });

  it('reports bad indentation without guessing at schema problems', () => {
    const problems = problemsOf('service:\n  name: a\n team: b\n');
    expect(problems.every((p) => p.expected === 'valid YAML')).toBe(true);
    expect(problems[0]).toMatchObject({ line: 3, column: 1 });
  });
});

describe('parseDeploySpec: several problems at once', () => {
  const text = [
    'service: {name: Payments, team: payments}\n',
    'run: {command: node server.js, replica: 2}\n',
    'deploy:\n',
    '  strategy: canary\n',
    '  canary:\n',
    '    - weight: 10\n',
    '      pause: 5\n',
    '    - weight: 5\n',
    '  helthcheck: {path: /health}\n',
  ].join('');

  it('reports every problem, sorted by position', () => {
    const problems = problemsOf(text);
    expect(problems.map((p) => `${p.line}:${p.column} ${p.field}`)).toEqual([
      '1:17 service.name',
      '2:32 run.replica',
      '3:1 deploy.healthcheck',
      '7:14 deploy.canary[0].pause',
      '8:15 deploy.canary[1].weight',
      '8:15 deploy.canary[1].weight',
      '9:3 deploy.helthcheck',
    ]);
    expect(problems.filter((p) => p.field === 'deploy.canary[1].weight').map((p) => p.message)).toEqual([
      "5 is not greater than the previous step's 10",
      'the last step is 5, so the new release would never be promoted',
    ]);
  });

  it('formats them as file:line:column lines with hints beneath', () => {
    const result = parseDeploySpec(text, 'services/payments-api/.idp/deploy.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const lines = formatProblems(result.problems).split('\n');
    expect(lines[0]).toBe(
      'services/payments-api/.idp/deploy.yaml:1:17  service.name: "Payments" is not a DNS-1123 label (expected a DNS-1123 label such as payments-api)',
    );
    expect(lines[1]).toBe(
      '    Try this: Use lower-case letters, digits and dashes, starting with a letter; it must match the catalog Component.',
    );
    expect(lines[2]).toBe(
      'services/payments-api/.idp/deploy.yaml:2:32  run.replica: unknown key "replica" (expected one of command, replicas) did you mean "replicas"?',
    );
    expect(lines).toContain(
      'services/payments-api/.idp/deploy.yaml:9:3  deploy.helthcheck: unknown key "helthcheck" (expected one of strategy, canary, healthcheck, rollback) did you mean "healthcheck"?',
    );
    expect(
      formatProblems([
        { file: 'f', line: 1, column: 1, field: '', message: 'the file is empty', expected: 'a mapping' },
      ]),
    ).toBe('f:1:1  the file is empty (expected a mapping)');
  });
});

describe('deploySpecJsonSchema', () => {
  const schema = deploySpecJsonSchema() as {
    $schema: string;
    title: string;
    type: string;
    description: string;
    additionalProperties: boolean;
    required: string[];
    properties: Record<
      string,
      {
        additionalProperties?: boolean;
        description?: string;
        properties?: Record<string, Record<string, unknown>>;
        allOf?: unknown[];
      }
    >;
  };

  it("is a draft 2020-12 object schema with the file's sections, closed to unknown keys", () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toMatch(/deploy\.yaml/);
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(['service', 'build', 'run', 'metrics', 'deploy']);
    expect(schema.required).toEqual(['service', 'deploy']);
    for (const section of Object.values(schema.properties)) {
      expect(section.additionalProperties).toBe(false);
      expect(section.description).toBeTruthy();
    }
  });

  it('describes every field and carries patterns, bounds, defaults and the canary rule', () => {
    const deploy = schema.properties.deploy!;
    expect(Object.keys(deploy.properties!)).toEqual(['strategy', 'canary', 'healthcheck', 'rollback']);
    const healthcheck = deploy.properties!.healthcheck as {
      properties: Record<string, Record<string, unknown>>;
      additionalProperties: boolean;
    };
    expect(healthcheck.additionalProperties).toBe(false);
    expect(healthcheck.properties.interval).toMatchObject({
      type: 'string',
      default: '10s',
      pattern: '^[1-9][0-9]{0,8}[smhd]$',
    });
    expect(healthcheck.properties.threshold).toEqual({
      default: 3,
      description: expect.any(String),
      type: 'integer',
      minimum: 1,
    });
    const run = schema.properties.run!;
    expect(run.properties!.replicas).toMatchObject({ type: 'integer', minimum: 1, maximum: 20, default: 2 });
    const canary = deploy.properties!.canary as {
      items: { properties: Record<string, Record<string, unknown>>; additionalProperties: boolean };
    };
    expect(canary.items.additionalProperties).toBe(false);
    expect(canary.items.properties.weight).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
    expect(deploy.allOf).toHaveLength(2);
    const descriptions: string[] = [];
    const collect = (node: unknown) => {
      if (typeof node !== 'object' || node === null) return;
      const record = node as Record<string, unknown>;
      if (record.properties) {
        for (const [name, child] of Object.entries(record.properties as Record<string, Record<string, unknown>>)) {
          descriptions.push(`${name}:${typeof child.description}`);
          collect(child);
        }
      }
      if (record.items) collect(record.items);
    };
    collect(schema);
    expect(descriptions.filter((d) => !d.endsWith(':string'))).toEqual([]);
  });

  it('accepts the shape of the example document', () => {
    // A structural check without a JSON Schema validator dependency: every key the example uses is declared.
    const spec = parseDeploySpec(EXAMPLE);
    expect(spec.ok).toBe(true);
    const declared = (path: string[]) => {
      let node: { properties?: Record<string, unknown> } = schema;
      for (const key of path) node = node.properties![key] as typeof node;
      return Object.keys(node.properties ?? {});
    };
    expect(declared(['service'])).toEqual(['name', 'team']);
    expect(declared(['run'])).toEqual(['command', 'replicas']);
    expect(declared(['deploy', 'rollback'])).toEqual(['auto', 'on_error_rate', 'min_requests']);
  });
});

describe('closestMatch', () => {
  it('finds near misses, prefixes and case slips, and nothing when nothing is close', () => {
    expect(editDistance('helthcheck', 'healthcheck')).toBe(1);
    expect(editDistance('stratgey', 'strategy')).toBe(1);
    expect(closestMatch('health', ['strategy', 'healthcheck'])).toBe('healthcheck');
    expect(closestMatch('Replicas', ['command', 'replicas'])).toBe('replicas');
    expect(closestMatch('min-requests', ['auto', 'min_requests'])).toBe('min_requests');
    expect(closestMatch('xyz', ['service', 'run'])).toBeUndefined();
  });
});

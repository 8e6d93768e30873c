import { afterAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import type { TemplateContext } from '../types.ts';
import { createRenderer, isTruthy } from './renderer.ts';

// Real Nunjucks in the real sandbox process: what Backstage templates expect of ${{ }}.

const renderer = createRenderer({ timeoutMs: 2000 });
afterAll(() => renderer.close());

const ctx: TemplateContext = {
  parameters: {
    name: 'payments',
    port: 8080,
    enabled: false,
    flags: { canary: true, weight: 10 },
    tags: ['a', 'b'],
    repoUrl: 'git.acme.test?owner=platform&repo=payments',
    owner: 'group:default/platform',
  },
  steps: { publish: { output: { remoteUrl: 'file:///git/payments.git', commitHash: 'abc123' } } },
  user: { ref: 'user:default/alice', entity: { metadata: { name: 'alice' } } },
  each: { key: 0, value: 'dev' },
};

async function failure(p: Promise<unknown>): Promise<IdpError> {
  const err: unknown = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IdpError);
  return err as IdpError;
}

describe('renderValue: Backstage expressions', () => {
  it('keeps the type of a lone expression and renders the rest as text, deeply, keys untouched', async () => {
    const out = await renderer.renderValue(
      {
        port: '${{ parameters.port }}',
        enabled: '${{ parameters.enabled }}',
        flags: '${{ parameters.flags }}',
        tags: '${{ parameters.tags }}',
        spaced: '  ${{ parameters.port }}  ',
        text: 'svc-${{ parameters.name }}:${{ parameters.port }}',
        '${{ parameters.name }}': 'key stays',
        nested: [{ url: "${{ steps['publish'].output.remoteUrl }}" }, '${{ steps.publish.output.commitHash }}'],
        user: '${{ user.entity.metadata.name }} ${{ user.ref }}',
        each: '${{ each.value }}',
        literal: 42,
        none: null,
        plain: 'no template here',
      },
      ctx,
    );
    expect(out).toEqual({
      port: 8080,
      enabled: false,
      flags: { canary: true, weight: 10 },
      tags: ['a', 'b'],
      spaced: '  8080  ',
      text: 'svc-payments:8080',
      '${{ parameters.name }}': 'key stays',
      nested: [{ url: 'file:///git/payments.git' }, 'abc123'],
      user: 'alice user:default/alice',
      each: 'dev',
      literal: 42,
      none: null,
      plain: 'no template here',
    });
  });

  it('renders an undefined expression as nothing (the key is dropped), as Backstage does', async () => {
    expect(await renderer.renderValue({ a: '${{ parameters.missing }}', b: 'x' }, ctx)).toEqual({ b: 'x' });
    expect(await renderer.renderValue('${{ parameters.missing.deeper }}', ctx)).toBeUndefined();
  });

  it("has Backstage's filters and Nunjucks' own", async () => {
    const out = await renderer.renderValue(
      {
        repo: '${{ parameters.repoUrl | parseRepoUrl }}',
        slug: '${{ parameters.repoUrl | projectSlug }}',
        owner: '${{ parameters.repoUrl | parseRepoUrl | pick("owner") }}',
        ref: '${{ parameters.owner | parseEntityRef }}',
        short: "${{ 'alice' | parseEntityRef({ defaultKind: 'user', defaultNamespace: 'people' }) }}",
        dump: 'flags=${{ parameters.flags | dump }}',
        lower: '${{ "PayMents" | lower }}',
        replace: '${{ parameters.name | replace("pay", "PAY") }}',
        join: '${{ parameters.tags | join(",") }}',
        length: '${{ parameters.tags | length }}',
        dflt: '${{ parameters.missing | default("fallback") }}',
        math: '${{ parameters.port + 1 }}',
        cond: '${{ "yes" if parameters.flags.canary else "no" }}',
      },
      ctx,
    );
    expect(out).toEqual({
      repo: { host: 'git.acme.test', owner: 'platform', repo: 'payments' },
      slug: 'platform/payments',
      owner: 'platform',
      ref: { kind: 'group', namespace: 'default', name: 'platform' },
      short: { kind: 'user', namespace: 'people', name: 'alice' },
      dump: 'flags={"canary":true,"weight":10}',
      lower: 'payments',
      replace: 'PAYments',
      join: 'a,b',
      length: 2,
      dflt: 'fallback',
      math: 8081,
      cond: 'yes',
    });
  });

  it("decides a step's if as Backstage does", async () => {
    expect(await renderer.condition('${{ parameters.flags.canary }}', ctx)).toBe(true);
    expect(await renderer.condition('${{ parameters.enabled }}', ctx)).toBe(false);
    expect(await renderer.condition('${{ parameters.missing }}', ctx)).toBe(false);
    expect(await renderer.condition('${{ parameters.name === "payments" }}', ctx)).toBe(true);
    expect(await renderer.condition(true, ctx)).toBe(true);
    expect([false, 'false', '', 0, null, undefined, []].map(isTruthy)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(['true', 'x', 1, {}, ['a']].map(isTruthy)).toEqual([true, true, true, true, true]);
  });

  it('names the place and the line of a broken expression or a failing filter', async () => {
    const syntax = await failure(renderer.renderValue({ url: 'x ${{ parameters.( }}' }, ctx, 'step publish input'));
    expect(syntax.code).toBe('TEMPLATE_RENDER_FAILED');
    expect(syntax.details).toMatchObject({ where: 'step publish input.url', line: 1 });
    expect(syntax.message).toMatch(/^step publish input\.url \(line 1, column \d+\): /);
    const filter = await failure(renderer.renderValue('${{ "nope" | parseRepoUrl }}', ctx, 'step x'));
    expect(filter.code).toBe('TEMPLATE_RENDER_FAILED');
    expect(filter.message).toMatch(/^step x \(line 1\): parseRepoUrl: /);
    const unknown = await failure(renderer.renderText('a\n\nb: ${{ values.x | nosuch }}\n', { values: {} }, 'f.yaml'));
    expect(unknown.message).toBe('f.yaml (line 3): filter not found: nosuch');
    const inFile = await failure(
      renderer.renderText('a\nrepo: ${{ values.url | parseRepoUrl | pick("repo") }}\n', { values: { url: 'x' } }, 'g'),
    );
    expect(inFile.details).toMatchObject({ where: 'g', line: 2 });
  });
});

describe('renderText: skeleton files and names', () => {
  const values = { values: { name: 'payments', port: 8080, db: true, cache: false, deps: ['pg', 'redis'] } };

  it('renders ${{ values.x }} with {% %} tags and {%- -%} whitespace control', async () => {
    const text = [
      'name: ${{ values.name }}',
      '{%- if values.db %}',
      'db: postgres',
      '{%- endif %}',
      '{% if values.cache %}cache: redis{% endif %}',
      'deps:',
      '{%- for d in values.deps %}',
      '  - ${{ d }}',
      '{%- endfor %}',
      'port: ${{ values.port }}',
      '{# a comment #}raw: {{ not a variable }}',
    ].join('\n');
    expect(await renderer.renderText(text, values, 'skeleton/app.yaml')).toBe(
      'name: payments\ndb: postgres\n\ndeps:\n  - pg\n  - redis\nport: 8080\nraw: {{ not a variable }}',
    );
    expect(await renderer.renderText('${{ values.name }}-service', values, 'skeleton/${{ values.name }}')).toBe(
      'payments-service',
    );
  });

  it('reports the file and line of a template error', async () => {
    const err = await failure(
      renderer.renderText('line one\nline two\n{% if values.x %}\nno end', values, 'src/index.ts'),
    );
    expect(err.code).toBe('TEMPLATE_RENDER_FAILED');
    expect(err.details.where).toBe('src/index.ts');
    expect(err.details.line).toBe(4);
    expect(err.message).toMatch(/^src\/index\.ts \(line 4\): .*endif/);
    const parse = await failure(renderer.renderText('a\nb\n  ${{ values.name | }}', values, 'Dockerfile'));
    expect(parse.details).toMatchObject({ where: 'Dockerfile', line: 3, column: 21 });
    const call = await failure(renderer.renderText('a\nb\n${{ values.name() }}', values, 'README.md'));
    expect(call.message).toMatch(/^README\.md \(line 3, column 16\): .*not a function/);
  });

  it('renders a 50-file skeleton in one batch: throughput', async () => {
    const file = (i: number) =>
      `// file ${i}\nexport const name = '\${{ values.name }}';\n{% for d in values.deps %}import '\${{ d }}';\n{% endfor %}export const port = \${{ values.port }};\n`;
    const files = Array.from({ length: 50 }, (_, i) => file(i));
    await Promise.all(files.map((f, i) => renderer.renderText(f, values, `warm/src/f${i}.ts`)));
    const runs = 10;
    // Each run names its files anew, so each compiles afresh (the sandbox caches compiled templates).
    const t0 = performance.now();
    for (let r = 0; r < runs; r++) {
      const out = await Promise.all(files.map((f, i) => renderer.renderText(f, values, `run${r}/src/f${i}.ts`)));
      expect(out[7]).toContain(
        "export const name = 'payments';\nimport 'pg';\nimport 'redis';\nexport const port = 8080;",
      );
    }
    const batched = (runs * files.length) / ((performance.now() - t0) / 1000);
    const t1 = performance.now();
    for (let i = 0; i < files.length; i++) await renderer.renderText(files[i]!, values, `one/src/f${i}.ts`);
    const oneByOne = files.length / ((performance.now() - t1) / 1000);
    console.log(
      `render throughput, 50-file skeleton: ${Math.round(batched)} files/s batched, ${Math.round(oneByOne)} files/s one by one`,
    );
    expect(batched).toBeGreaterThan(200);
  });
});

describe('without the bundler', () => {
  it('runs the sandbox from TypeScript through tsx: same renders, same refusals, only not confined', async () => {
    const plain = createRenderer({ unbundled: true });
    try {
      expect(await plain.probe()).toMatchObject({ confined: false, env: ['IDP_RENDER_MAX_OUTPUT', 'PATH'] });
      expect(await plain.renderValue({ p: '${{ parameters.port }}' }, ctx)).toEqual({ p: 8080 });
      const escape = await failure(plain.renderValue('${{ range.constructor("return process")() }}', ctx));
      expect(escape.message).toContain('templates may not read "constructor"');
    } finally {
      await plain.close();
    }
  });
});

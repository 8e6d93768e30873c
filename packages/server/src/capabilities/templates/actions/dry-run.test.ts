import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actionHarness, type Harness } from '../../../../../../test/support/template-actions.ts';
import { createActionRegistry } from './builtin.ts';

// No services at all: a dry run must not need them, since it must not touch them.
const registry = createActionRegistry({ allowedRemotes: ['file:///srv/git/'] });

describe('dry runs: nothing outside the workspace, plausible outputs', () => {
  let h: Harness;
  beforeEach(() => {
    h = actionHarness();
    writeFileSync(
      join(h.workspace, 'catalog-info.yaml'),
      'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\nspec: {}\n',
    );
  });
  afterEach(async () => {
    await h.close();
  });

  it('catalog:register answers the ref from the workspace copy; env and deploy name what they would make', async () => {
    const reg = await h.run(
      registry.get('catalog:register'),
      { repoContentsUrl: 'git+file:///srv/git/orders.git#main' },
      { dryRun: true },
    );
    expect(reg.output).toEqual({
      entityRef: 'component:default/orders',
      catalogInfoUrl: 'git+file:///srv/git/orders.git#main',
    });
    expect(reg.log[0]).toContain('would register the git location file:///srv/git/orders.git#main');
    const env = await h.run(registry.get('idp:env:create'), { name: 'orders-dev' }, { dryRun: true });
    expect(env.output).toEqual({ name: 'orders-dev', namespace: 'orders-dev-alice' });
    expect(env.log[0]).toContain('would create the environment orders-dev from staging');
    const dep = await h.run(registry.get('idp:deploy'), { service: 'orders', env: 'orders-dev' }, { dryRun: true });
    expect(dep.output).toEqual({
      deploymentId: 'dry-run',
      version: 'dry-run',
      url: 'http://orders.orders-dev-alice.localhost',
    });
  });

  it('without a dry run the same actions say what they need', async () => {
    await expect(h.run(registry.get('idp:env:create'), { name: 'orders-dev' })).rejects.toMatchObject({
      code: 'TEMPLATE_ACTION_NOT_CONFIGURED',
    });
    await expect(
      h.run(registry.get('catalog:register'), { catalogInfoUrl: 'ftp://x/catalog-info.yaml' }),
    ).rejects.toMatchObject({ code: 'TEMPLATE_INVALID' });
  });
});

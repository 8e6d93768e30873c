import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigAllowing } from '../support/config.ts';
import { startHostileServer, type HostileServer } from '../support/security.ts';
import { api, freePort } from '../support/server.ts';

const component = (name: string) =>
  `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: service\n  lifecycle: production\n  owner: group:payments\n`;

async function listen(
  host: string,
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

describe('security 08: URL and git locations are no SSRF or port-scan primitive', () => {
  let server: HostileServer;
  let alice = '';
  // The "internal service": a real HTTP server on loopback that must never be reached by alice's locations.
  let internal: { server: Server; port: number };
  let internalHits = 0;
  // An allow-listed host (127.0.0.2 is loopback too, but only it is on the list) that redirects to the internal one.
  let allowed: { server: Server; port: number };
  let closedPort = 0;

  beforeAll(async () => {
    internal = await listen('127.0.0.1', (_req, res) => {
      internalHits++;
      res.writeHead(200, { 'content-type': 'text/yaml' }).end(component('internal-secret'));
    });
    allowed = await listen('127.0.0.2', (req, res) => {
      if (req.url === '/redirect')
        res.writeHead(302, { location: `http://127.0.0.1:${internal.port}/catalog-info.yaml` }).end();
      else res.writeHead(200, { 'content-type': 'text/yaml' }).end(component('allowed-ok'));
    });
    closedPort = await freePort();
    server = await startHostileServer({ args: ['--config', acmeConfigAllowing('sec-08', ['127.0.0.2'])] });
    alice = await server.tokenFor('alice');
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    internal?.server.close();
    allowed?.server.close();
  });

  const register = (token: string, target: string, type?: string) =>
    api(server, token, 'POST', '/api/catalog/idp/locations', { target, ...(type ? { type } : {}) });
  /** The error with the target itself taken out: what is left must be the same for every refusal. */
  const shape = (res: { status: number; json: any }, target: string) => ({
    status: res.status,
    code: res.json?.error?.code,
    message: String(res.json?.error?.message).split(target).join('<target>'),
  });

  it('refuses loopback, link-local (metadata), private, unspecified, IPv6 and mapped forms, localhost and a redirect to loopback, all alike', async () => {
    const p = internal.port;
    const targets = [
      `http://127.0.0.1:${p}/catalog-info.yaml`,
      `http://127.0.0.1:${closedPort}/catalog-info.yaml`,
      `http://169.254.169.254/latest/meta-data/`,
      `http://10.0.0.1/catalog-info.yaml`,
      `http://100.100.100.200/catalog-info.yaml`,
      `http://0.0.0.0:${p}/catalog-info.yaml`,
      `http://[::1]:${p}/catalog-info.yaml`,
      `http://[::ffff:127.0.0.1]:${p}/catalog-info.yaml`,
      `http://2130706433:${p}/catalog-info.yaml`,
      `http://localhost:${p}/catalog-info.yaml`,
      `http://127.0.0.2:${allowed.port}/redirect`,
    ];
    const shapes = [];
    for (const target of targets) {
      const res = await register(alice, target);
      shapes.push(shape(res, target));
    }
    expect(shapes[0]).toEqual({
      status: 502,
      code: 'CATALOG_LOCATION_UNREACHABLE',
      message: expect.stringMatching(/^could not fetch <target>: refused or unreachable/),
    });
    // One answer for all: an open port, a closed port, metadata and a redirect cannot be told apart.
    for (const [i, s] of shapes.entries()) expect(s, targets[i]).toEqual(shapes[0]);
    expect(internalHits).toBe(0);
    const locations = (await api(server, alice, 'GET', '/api/catalog/idp/locations')).json.items.map(
      (l: any) => l.target,
    );
    for (const target of targets) expect(locations).not.toContain(target);
    expect((await api(server, alice, 'GET', '/api/catalog/idp/entity?ref=internal-secret')).status).toBe(404);
    // Nothing of the internal answer or of the reason leaks into the message.
    expect(JSON.stringify(shapes)).not.toMatch(/internal-secret|ECONNREFUSED|loopback|linkLocal/);
    expect(await server.alive()).toBe(true);
  });

  it('git remotes obey the same rules: loopback http refused alike, other transports refused, nothing reached', async () => {
    const target = `http://127.0.0.1:${internal.port}/repo.git`;
    const res = await register(alice, target, 'git');
    expect(shape(res, target)).toEqual({
      status: 502,
      code: 'CATALOG_LOCATION_UNREACHABLE',
      message: expect.stringMatching(/^could not fetch <target>: refused or unreachable/),
    });
    const viaGitProtocol = await register(alice, `git://127.0.0.1:${internal.port}/repo.git`, 'git');
    expect(viaGitProtocol.json.error.code).toBe('CATALOG_LOCATION_UNREACHABLE');
    expect(viaGitProtocol.json.error.message).toMatch(/refused or unreachable/);
    for (const local of ['file:///etc', '/etc', 'ext::sh -c id']) {
      const denied = await register(alice, local, 'git');
      expect(denied.status, local).toBe(403);
      expect(denied.json.error.code).toBe('POLICY_DENIED');
    }
    expect(internalHits).toBe(0);
    expect(await server.alive()).toBe(true);
  });

  it('an allow-listed host is fetched; an admin may fetch from loopback (the control case)', async () => {
    const ok = await register(alice, `http://127.0.0.2:${allowed.port}/catalog-info.yaml`);
    expect(ok.status, ok.text).toBe(201);
    expect(ok.json.added).toBe(1);
    const admin = await register(server.adminToken, `http://127.0.0.1:${internal.port}/catalog-info.yaml`);
    expect(admin.status, admin.text).toBe(201);
    expect(internalHits).toBe(1);
  });
});

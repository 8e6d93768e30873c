// For the e2e tests of what runs in an environment (deployments, mostly): a server on its own
// envFixture config, API tokens for some demo users, and one environment of theirs, ready.
import { afterAll, beforeAll, expect } from 'vitest';
import { envFixture, waitForEnvironment, type EnvFixture } from './environments.ts';
import { api, startTestServer, type TestServer } from './server.ts';
import { userTokens } from './tokens.ts';

export interface EnvServer {
  readonly fx: EnvFixture;
  readonly server: TestServer;
  /** API tokens by user name. */
  readonly tokens: Record<string, string>;
  /** The environment's name: `<label>-<run id>`. */
  readonly env: string;
}

/**
 * Registers, for the describe block it is called in, a beforeAll that starts a server (its
 * environment timers off) on a fresh envFixture config, makes tokens for `users` and has the first
 * of them clone `from` (default: cache) into a new environment, waiting until it is ready; and an
 * afterAll that deletes the environment, waits for the environments' work and stops the server.
 * Read the fields inside tests and hooks.
 */
export function envServer(opts: { users: readonly string[]; label: string; from?: string }): EnvServer {
  let state: EnvServer | undefined;
  let fx: EnvFixture | undefined;
  let server: TestServer | undefined;
  beforeAll(async () => {
    fx = envFixture();
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    const tokens = await userTokens(server, opts.users);
    const owner = tokens[opts.users[0]!]!;
    const env = fx.envName(opts.label);
    const created = await api(server, owner, 'POST', '/api/environments', { name: env, from: opts.from ?? 'cache' });
    expect(created.status, created.text).toBe(202);
    state = { fx, server, tokens, env };
    await waitForEnvironment(server, owner, env, ['ready'], { failOn: ['failed'] });
  }, 60_000);
  afterAll(async () => {
    if (server && state) await api(server, state.tokens[opts.users[0]!]!, 'DELETE', `/api/environments/${state.env}`);
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
  });
  const get = (): EnvServer => {
    if (!state) throw new Error('envServer: read it inside a test or hook');
    return state;
  };
  return {
    get fx() {
      return get().fx;
    },
    get server() {
      return get().server;
    },
    get tokens() {
      return get().tokens;
    },
    get env() {
      return get().env;
    },
  };
}

import { api } from './server.ts';

/** A fresh API token for `<name>@company.com` (or for `name` when it is an address), made by the admin. */
export async function tokenFor(server: { url: string }, adminToken: string, name: string): Promise<string> {
  const res = await api(server, adminToken, 'POST', '/api/tokens', {
    user: name.includes('@') ? name : `${name}@company.com`,
  });
  if (res.status !== 201) throw new Error(`token for ${name}: ${res.status} ${res.text}`);
  return res.json.token as string;
}

/** API tokens for demo users, by short name (alice, bob, …), made by the server's admin. */
export async function userTokens(
  server: { url: string; adminToken: string },
  names: readonly string[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of names) out[name] = await tokenFor(server, server.adminToken, name);
  return out;
}

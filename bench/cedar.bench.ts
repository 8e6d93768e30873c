import { fileURLToPath } from 'node:url';
import { PolicyEngine, loadDefaultPolicySources, type AuthorizeRequest } from '@idp/core';

const CALLS = 100_000;
const SECONDARY_CALLS = 20_000;
const WARMUP_CALLS = 5_000;
const DIRECTORY_GROUPS = 20;
const TARGET_P50_MS = 0.1;

/**
 * Times `PolicyEngine.authorize` on the default policies with the entities a typical request
 * carries: a user in two groups (one nested in the other) and the admin role, plus the resource.
 */
export async function run(): Promise<Record<string, number | string>> {
  const loadStart = process.hrtime.bigint();
  const engine = PolicyEngine.load(loadDefaultPolicySources());
  const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;

  const payments = { type: 'Group', id: 'payments' };
  const backend = { type: 'Group', id: 'backend' };
  const adminRole = { type: 'Role', id: 'admin' };
  const staging = { type: 'Environment', id: 'staging' };
  const user = { type: 'User', id: 'alice@acme.com' };
  const asAdmin: AuthorizeRequest = {
    principal: user,
    action: 'env:read',
    resource: staging,
    context: { now: 1_700_000_000 },
    entities: [
      { uid: user, attrs: { name: 'Alice', email: 'alice@acme.com' }, parents: [payments, backend, adminRole] },
      { uid: payments, attrs: { name: 'payments' }, parents: [backend] },
      { uid: backend, attrs: { name: 'backend' }, parents: [] },
      { uid: adminRole, attrs: {}, parents: [] },
      { uid: staging, attrs: { base: true, tier: 'staging', team: payments }, parents: [] },
    ],
  };
  const first = engine.authorize(asAdmin);
  if (first.decision !== 'allow') throw new Error(`benchmark request was not allowed: ${first.reason}`);
  // The deny path builds a reason sentence; time it too, as denials are what policy:check shows.
  const asMember: AuthorizeRequest = {
    ...asAdmin,
    entities: asAdmin.entities.map((e) => (e.uid === user ? { ...e, parents: [payments, backend] } : e)),
  };
  if (engine.authorize(asMember).decision !== 'deny') throw new Error('benchmark member request was not denied');

  // What the server does when it hands over its whole directory: the engine should drop the
  // groups no policy can reach, so this should cost about the same as the request above.
  const withDirectory: AuthorizeRequest = {
    ...asAdmin,
    entities: [
      ...asAdmin.entities,
      ...Array.from({ length: DIRECTORY_GROUPS }, (_, i) => ({
        uid: { type: 'Group', id: `team-${i}` },
        attrs: { name: `team-${i}` },
        parents: [backend],
      })),
    ],
  };

  const allow = time(CALLS, () => engine.authorize(asAdmin));
  const deny = time(SECONDARY_CALLS, () => engine.authorize(asMember));
  const directory = time(SECONDARY_CALLS, () => engine.authorize(withDirectory));
  const figures = {
    loadMs: Math.round(loadMs),
    calls: CALLS,
    entities: asAdmin.entities.length,
    policies: engine.policyIds.length,
    allowP50Ms: allow.p50,
    allowP99Ms: allow.p99,
    denyP50Ms: deny.p50,
    denyP99Ms: deny.p99,
    withDirectoryP50Ms: directory.p50,
    withDirectoryP99Ms: directory.p99,
    targetP50Ms: TARGET_P50_MS,
    verdict: allow.p50 <= TARGET_P50_MS ? 'within target' : 'above target',
  };
  console.log('cedar authorize', JSON.stringify(figures, null, 2));
  return figures;
}

function time(calls: number, call: () => unknown): { p50: number; p99: number } {
  for (let i = 0; i < WARMUP_CALLS; i++) call();
  const samples = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    call();
    samples[i] = Number(process.hrtime.bigint() - start) / 1e6;
  }
  samples.sort();
  return { p50: round(samples[Math.floor(calls * 0.5)]!), p99: round(samples[Math.floor(calls * 0.99)]!) };
}

function round(ms: number): number {
  return Math.round(ms * 10_000) / 10_000;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await run();
}

// A service that deploys in a second: no build step, no dependencies, one `node server.js`. For
// the deployment e2e tests that care about the rollout, not about the service.
import { uploadRelease, type ServiceRepo } from './deploy.ts';

/** Answers every request with its release version (IDP_RELEASE_VERSION), as JSON. */
export const VERSION_SERVER_JS = `require('http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ version: process.env.IDP_RELEASE_VERSION })); }).listen(process.env.PORT);\n`;

/** payments-api's deploy.yaml: one replica of `node server.js`, a canary of `steps` (list items indented four spaces). */
export const canaryYaml = (steps: string): string => `service: {name: payments-api, team: payments}
run: {command: node server.js, replicas: 1}
deploy:
  strategy: canary
  canary:
${steps}
  healthcheck: {path: /health, interval: 1s, threshold: 3}
  rollback: {auto: true, on_error_rate: ">1%"}
`;

/**
 * Commits `deployYaml` and `serverJs` (made unique, so that every call is a new release) to
 * `repo` and uploads the commit as a release of `service` (payments-api unless given).
 */
export function releaseTinyService(
  server: { url: string },
  token: string,
  repo: ServiceRepo,
  deployYaml: string,
  opts: { service?: string; serverJs?: string } = {},
) {
  repo.write('.idp/deploy.yaml', deployYaml);
  repo.write('server.js', `${opts.serverJs ?? VERSION_SERVER_JS}// ${Math.random()}\n`);
  const sha = repo.commit();
  return uploadRelease(server, token, opts.service ?? 'payments-api', sha, repo.archive(sha));
}

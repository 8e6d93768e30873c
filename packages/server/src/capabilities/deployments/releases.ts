import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { IdpError, type Release } from '@idp/contracts';
import {
  checkNodeEngine,
  inferDeploySpec,
  INFERENCE_FILES,
  isDnsLabel,
  nodeEngineError,
  parseDeploySpec,
  type DeclaredDeploySpec,
  type DeploySpec,
  type InferenceFile,
  type InferredNote,
} from '@idp/core';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import {
  DEFAULT_RELEASE_LIMITS,
  MAX_SPEC_BYTES,
  readReleaseFile,
  releaseFileExists,
  receiveArchive,
  tooLarge,
  unpackArchive,
  type ReleaseLimits,
} from './archive.ts';
import type { DeployAuthorizer } from './authz.ts';
import type { RuntimeIsolation } from '../runtime/index.ts';
import { runtimeNodeVersion } from './runtime-node.ts';

type ReleaseRow = Database['releases'];

const OUTPUT_TAIL = 4000;
const BUILD_TIMEOUT_MS = 10 * 60_000;
/** Procfile and package.json are a page of text; lockfiles are only checked for existence. */
const MAX_INFERENCE_FILE_BYTES = 1024 * 1024;
const LOCKFILES: ReadonlySet<InferenceFile> = new Set(['package-lock.json', 'npm-shrinkwrap.json']);

/**
 * Releases: an uploaded `git archive` of a service at a commit, stored once by content
 * (version = commit + digest, so the same bytes are the same release), unpacked, its
 * deploy.yaml checked against the catalog, and its build command run once. A failed build
 * is recorded with its output tail; nothing running is touched.
 */
export class Releases {
  private readonly limits: ReleaseLimits;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      audit: AuditLog;
      clock: Clock;
      authz: DeployAuthorizer;
      dataDir: string;
      limits?: ReleaseLimits;
      isolation: RuntimeIsolation;
    },
  ) {
    this.limits = deps.limits ?? DEFAULT_RELEASE_LIMITS;
  }

  /**
   * Authorize first, then read: the service must be a catalog Component the caller may deploy
   * (and deploy to `env`, when the upload names it) before a byte of the body is read. The body
   * is then streamed to a temporary file (hashed on the way, under the upload limit), unpacked
   * entry by entry under the unpacked-size and entry-count limits, and its deploy.yaml read from
   * a regular file inside the release. Every error path removes what was written.
   */
  async upload(
    ctx: RequestContext,
    req: { service: string; commit: string; env?: string; contentLength?: number },
    body: Readable,
  ): Promise<{ release: Release; created: boolean }> {
    const { service, commit, env } = req;
    if (!isDnsLabel(service))
      throw new IdpError('INVALID_NAME', `service: "${service.slice(0, 80)}" is not a DNS-1123 label`, {
        field: 'service',
      });
    if (!/^[0-9a-f]{7,40}$/.test(commit)) {
      throw new IdpError('VALIDATION_FAILED', `commit: "${commit.slice(0, 80)}" is not a git commit id`, {
        field: 'commit',
        hint: 'Pass the full commit id (git rev-parse HEAD).',
      });
    }
    if (env !== undefined && !isDnsLabel(env))
      throw new IdpError('INVALID_NAME', `env: "${env.slice(0, 80)}" is not a DNS-1123 label`, { field: 'env' });
    const team = await this.deps.authz.teamOf(service);
    const envRow = env === undefined ? undefined : await this.deps.authz.environment(env);
    // Uploading a release is the first half of a deploy: only those who may deploy the service (there).
    await this.deps.authz.authorize(ctx, { action: 'deploy:create', service, team, env: envRow });
    if (req.contentLength !== undefined && req.contentLength > this.limits.maxUploadBytes)
      throw tooLarge('upload', this.limits.maxUploadBytes, 'bytes', { contentLength: req.contentLength });

    const releases = join(this.deps.dataDir, 'releases');
    const incoming = join(releases, '.incoming');
    await mkdir(incoming, { recursive: true, mode: 0o700 });
    const tmp = join(incoming, randomBytes(8).toString('hex'));
    const tarFile = `${tmp}.tar`;
    const staging = `${tmp}.d`;
    let dir: string | null = null;
    try {
      const { digest, size } = await receiveArchive(body, tarFile, this.limits);
      if (size === 0)
        throw new IdpError('VALIDATION_FAILED', 'the release archive is empty', {
          field: 'body',
          hint: 'Send `git archive --format=tar <ref>` of the service directory.',
        });
      const version = `${commit.slice(0, 12)}-${digest.slice(0, 12)}`;
      const existing = await this.row(service, version);
      if (existing) {
        if (existing.status === 'failed') throw buildFailed(existing);
        return { release: toRelease(existing), created: false };
      }
      await mkdir(staging, { mode: 0o755 });
      await unpackArchive(tarFile, staging, this.limits);
      await rm(tarFile, { force: true });
      const declared = await this.readSpec(staging);
      this.checkCatalog(service, team, declared);
      // The control plane is the authority on what runs: it infers from the uploaded files.
      const { spec, inferred } = await this.infer(staging, declared);
      dir = join(releases, service, version);
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(releases, service), { recursive: true });
      await rename(staging, dir);
      const built = await this.build(dir, spec);
      const row: ReleaseRow = {
        service,
        version,
        commit_sha: commit,
        digest,
        size_bytes: size,
        status: built.ok ? 'built' : 'failed',
        created_at: this.deps.clock.now().toISOString(),
        created_by: ctx.principal.ref,
        build_ms: built.ms,
        build_output: built.output,
        spec: JSON.stringify(spec),
        dir,
        inferred: JSON.stringify(inferred),
      };
      await this.deps.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('releases')
          .values(row)
          .onConflict((oc) => oc.columns(['service', 'version']).doNothing())
          .execute();
        await this.deps.audit.append(
          {
            actor: ctx.principal.ref,
            action: 'release:create',
            target: `service:${service}`,
            decision: built.ok ? 'allow' : 'error',
            requestId: ctx.requestId,
            details: {
              version,
              commit,
              digest,
              sizeBytes: size,
              build: built.ok ? 'ok' : 'failed',
              buildMs: built.ms,
              ...(inferred.length ? { inferred } : {}),
              ...(env ? { env } : {}),
            },
          },
          trx,
        );
      });
      if (!built.ok) throw buildFailed(row);
      return { release: toRelease(row), created: true };
    } catch (err) {
      // A failed build is recorded (with its output) and keeps its directory; nothing else stays.
      if (dir && !(err instanceof IdpError && err.code === 'DEPLOY_BUILD_FAILED'))
        await rm(dir, { recursive: true, force: true });
      throw err;
    } finally {
      await rm(tarFile, { force: true });
      await rm(staging, { recursive: true, force: true });
    }
  }

  async get(service: string, version: string): Promise<{ release: Release; spec: DeploySpec; dir: string }> {
    const row = await this.row(service, version);
    if (!row) throw new IdpError('RELEASE_NOT_FOUND', `no release ${version} of ${service}`, { service, version });
    if (row.status !== 'built') throw buildFailed(row);
    return { release: toRelease(row), spec: JSON.parse(row.spec) as DeploySpec, dir: row.dir };
  }

  private row(service: string, version: string): Promise<ReleaseRow | undefined> {
    return this.deps.db
      .selectFrom('releases')
      .selectAll()
      .where('service', '=', service)
      .where('version', '=', version)
      .executeTakeFirst();
  }

  /** deploy.yaml from a regular file inside the release only (never through a link), at most MAX_SPEC_BYTES. */
  private async readSpec(dir: string): Promise<DeclaredDeploySpec> {
    const text = await readReleaseFile(dir, '.idp/deploy.yaml', MAX_SPEC_BYTES);
    if (text === null) {
      throw new IdpError('DEPLOY_SPEC_INVALID', 'the release has no .idp/deploy.yaml', {
        problems: [
          {
            file: '.idp/deploy.yaml',
            line: 1,
            column: 1,
            field: '',
            message: 'the file is missing',
            expected: 'a deploy.yaml at .idp/deploy.yaml in the service directory',
          },
        ],
      });
    }
    const parsed = parseDeploySpec(text, '.idp/deploy.yaml');
    if (!parsed.ok) {
      const first = parsed.problems[0]!;
      throw new IdpError(
        'DEPLOY_SPEC_INVALID',
        `.idp/deploy.yaml has ${parsed.problems.length} problem${parsed.problems.length === 1 ? '' : 's'}; first: ${first.line}:${first.column} ${first.field}: ${first.message}`,
        {
          problems: parsed.problems,
          field: first.field,
        },
      );
    }
    return parsed.spec;
  }

  /**
   * Run (and build) from the release's files when deploy.yaml leaves the run command out, and
   * package.json's engines.node against the runtime's Node.js: DEPLOY_RUN_NOT_INFERRED or
   * DEPLOY_NODE_UNSUPPORTED before anything is built.
   */
  private async infer(
    dir: string,
    declared: DeclaredDeploySpec,
  ): Promise<{ spec: DeploySpec; inferred: InferredNote[] }> {
    const contents = new Map<InferenceFile, string>();
    for (const file of INFERENCE_FILES) {
      if (LOCKFILES.has(file)) {
        if (await releaseFileExists(dir, file)) contents.set(file, '');
        continue;
      }
      const text = await readReleaseFile(dir, file, MAX_INFERENCE_FILE_BYTES);
      if (text !== null) contents.set(file, text);
    }
    const result = inferDeploySpec(declared, (file) => contents.get(file) ?? null);
    if (result.nodeRange !== null) {
      const problem = nodeEngineError(checkNodeEngine(result.nodeRange, await runtimeNodeVersion()));
      if (problem) throw problem;
    }
    return { spec: result.spec, inferred: result.inferred };
  }

  private checkCatalog(service: string, team: string, spec: DeclaredDeploySpec): void {
    if (spec.service.name !== service) {
      throw new IdpError(
        'DEPLOY_SPEC_INVALID',
        `.idp/deploy.yaml names service ${spec.service.name}, but the release is for ${service}`,
        { field: 'service.name' },
      );
    }
    if (team !== spec.service.team) {
      throw new IdpError(
        'DEPLOY_TEAM_MISMATCH',
        `deploy.yaml says team ${spec.service.team}, but the catalog says ${service} is owned by ${team}`,
        { field: 'service.team', expected: team },
      );
    }
  }

  private async build(
    dir: string,
    spec: DeploySpec,
  ): Promise<{ ok: boolean; ms: number | null; output: string | null }> {
    // As the team's build user in its sandbox (capabilities/runtime): the release writable, a
    // per-team HOME and npm cache, no secrets, no data dir. Afterwards the release is sealed
    // (root's, read-only to its replicas), also when there is nothing to build.
    const built = await this.deps.isolation.build({
      team: spec.service.team,
      dir,
      command: spec.build?.command,
      timeoutMs: BUILD_TIMEOUT_MS,
      outputTail: OUTPUT_TAIL,
    });
    return built ?? { ok: true, ms: null, output: null };
  }
}

function buildFailed(row: ReleaseRow): IdpError {
  return new IdpError('DEPLOY_BUILD_FAILED', `the build of ${row.service} ${row.version} failed`, {
    service: row.service,
    version: row.version,
    output: row.build_output ?? '',
  });
}

export function toRelease(row: ReleaseRow): Release {
  return {
    version: row.version,
    service: row.service,
    commit: row.commit_sha,
    digest: row.digest,
    sizeBytes: Number(row.size_bytes),
    status: row.status,
    createdAt: row.created_at,
    createdBy: row.created_by,
    buildMs: row.build_ms === null ? null : Number(row.build_ms),
    buildOutput: row.build_output,
    spec: JSON.parse(row.spec) as Record<string, unknown>,
    inferred: row.inferred === null ? [] : (JSON.parse(row.inferred) as InferredNote[]),
  };
}

// The error catalogue, part 1: requests, identity and tokens, policy, catalog, state store, audit
// and secrets. errors.ts joins the parts into ERROR_CODES, the one catalogue.
import type { ErrorCodeSpec } from './error-spec.ts';
import { fillHint } from './error-hints.ts';

export const PLATFORM_ERRORS = {
  VALIDATION_FAILED: {
    status: 400,
    exit: 2,
    meaning: 'A field of the request is missing or has the wrong type or format.',
    hint: 'Check the field named in the error against `--help` or /openapi.json.',
  },
  INVALID_JSON: {
    status: 400,
    exit: 2,
    meaning: 'The request body is not valid JSON.',
    hint: 'Send a JSON object with Content-Type: application/json.',
  },
  INVALID_DURATION: {
    status: 400,
    exit: 2,
    meaning: 'A duration is not of the form <number><unit> with unit s, m, h or d.',
    hint: 'Use a duration such as 30s, 5m, 2h or 7d.',
  },
  INVALID_NAME: {
    status: 400,
    exit: 2,
    meaning: 'A name is not a DNS-1123 label (lower-case letters, digits and "-", starting with a letter).',
    hint: 'Use lower-case letters, digits and dashes, e.g. feature-payments.',
  },
  INVALID_REF: {
    status: 400,
    exit: 2,
    meaning: 'A principal, entity or resource reference cannot be parsed.',
    hint: 'Use the form kind:name, e.g. user:alice@company.com or environment:staging.',
  },
  USAGE: {
    status: 400,
    exit: 2,
    meaning: 'The command line is wrong: an unknown flag, a missing argument or a bad value.',
    hint: 'Run the command with --help to see its flags and examples.',
  },
  UNAUTHENTICATED: {
    status: 401,
    exit: 3,
    meaning: 'The request carries no API token.',
    hint: 'Run `idp login --url URL --token TOKEN`, or set IDP_TOKEN.',
  },
  TOKEN_INVALID: {
    status: 401,
    exit: 3,
    meaning: 'The API token is not one the platform issued.',
    hint: 'Ask a platform admin for a new token (`idp token:create`) and run `idp login` again.',
  },
  TOKEN_EXPIRED: {
    status: 401,
    exit: 3,
    meaning: 'The API token has expired.',
    hint: 'Ask a platform admin for a new token (`idp token:create`).',
  },
  TOKEN_REVOKED: {
    status: 401,
    exit: 3,
    meaning: 'The API token was revoked.',
    hint: 'Ask a platform admin for a new token (`idp token:create`).',
  },
  POLICY_DENIED: {
    status: 403,
    exit: 3,
    meaning: 'A Cedar policy does not allow this action for you on this resource.',
    hint: 'Run `idp policy:check` with the same principal, action and resource to see which policies decided.',
  },
  NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'The resource or route does not exist.',
    hint: 'Check the name; list what exists with the matching `list` command.',
  },
  USER_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No User entity in the catalog matches the given email or entity ref.',
    hint: 'Run `idp whoami` or check the User entities of your catalog.',
  },
  TOKEN_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No API token has this id.',
    hint: 'Run `idp token:list` to see token ids.',
  },
  CONFLICT: {
    status: 409,
    exit: 1,
    meaning: 'The request conflicts with the current state of the resource.',
    hint: 'Fetch the resource again and retry with its current state.',
  },
  CATALOG_LOCATION_EXISTS: {
    status: 409,
    exit: 1,
    meaning: 'A catalog location with this type and target is already registered.',
    hint: 'Run `idp catalog:locations` to find its id, and `idp catalog:refresh` with that id to read it again.',
    hintFor: fillHint.catalogLocationExists,
  },
  TOKEN_ALREADY_REVOKED: {
    status: 409,
    exit: 1,
    meaning: 'The API token was already revoked.',
    hint: 'Nothing to do; `idp token:list` shows its state.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    exit: 1,
    meaning: 'The request body is larger than the server accepts.',
    hint: 'Send a smaller body.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    exit: 2,
    meaning: 'The request body has a content type the API does not accept.',
    hint: 'Send JSON with Content-Type: application/json.',
  },
  CATALOG_IDENTITY_UNTRUSTED: {
    status: 403,
    exit: 3,
    meaning:
      'Users, Groups and memberships come only from identity sources (catalog.locations in the config, or a location a platform admin registered as one): a User or Group from any other location is refused (a catalog error), and only platform admins may make a location an identity source.',
    hint: "Ask your platform team to add the User or Group to an identity source; the location's other entities load without it.",
  },
  CATALOG_LOCATION_UNREACHABLE: {
    status: 502,
    exit: 1,
    meaning: 'A catalog location (file, URL or git repository) could not be read.',
    hint: 'Check that the path exists on the server, the URL answers, or the repository can be cloned; then retry.',
  },
  CATALOG_CURSOR_STALE: {
    status: 409,
    exit: 1,
    meaning: 'The catalog changed after the first page of an impact report was read, so the cursor no longer fits it.',
    hint: 'Ask for the report again without a cursor.',
  },
  RATE_LIMITED: {
    status: 429,
    exit: 1,
    meaning: 'Too many requests.',
    hint: 'Wait a moment and retry.',
  },
  CONFIG_INVALID: {
    status: 500,
    exit: 1,
    meaning: 'The idp.config.yaml file is missing, not YAML, or has a field of the wrong type.',
    hint: 'Fix the field named in the error; the README documents every config field.',
  },
  POLICY_INVALID: {
    status: 500,
    exit: 1,
    meaning: 'A Cedar policy file does not parse or does not validate against the idp Cedar schema.',
    hint: 'Fix the policy named in the error; `policies/schema.cedarschema` lists the entity types and actions.',
  },
  CATALOG_INVALID: {
    status: 500,
    exit: 1,
    meaning: 'A catalog file could not be read or holds an invalid entity.',
    hint: 'Fix the file and entity named in the error.',
  },
  STORE_UNAVAILABLE: {
    status: 503,
    exit: 1,
    meaning: 'The state store (SQLite or PostgreSQL) cannot be reached or migrated.',
    hint: 'Check IDP_DATABASE_URL or the data directory permissions.',
  },
  SERVER_UNREACHABLE: {
    status: 503,
    exit: 1,
    meaning: 'The CLI cannot reach the control plane.',
    hint: 'Start it with `npm start`, or point IDP_URL / `idp login --url` at it.',
  },
  PORT_IN_USE: {
    status: 500,
    exit: 1,
    meaning:
      'The control plane or its edge proxy cannot listen on its port (another process holds it, or the address cannot be bound); it stopped everything it had started.',
    hint: 'Stop the process holding the port (`ss -ltnp` lists them), or pick another with --port / IDP_PORT (IDP_PROXY_PORT for the edge proxy; 0 picks a free one).',
  },
  AUDIT_TAMPERED: {
    status: 409,
    exit: 1,
    meaning: 'The audit log hash chain does not verify: a record was changed, removed or inserted.',
    hint: 'Restore the audit table from a backup and investigate who had write access to the store.',
  },
  AUDIT_KEY_INVALID: {
    status: 500,
    exit: 1,
    meaning: 'The audit key (IDP_AUDIT_KEY or <data-dir>/audit.key) is unreadable or not 32 bytes in base64 or hex.',
    hint: 'Give IDP_AUDIT_KEY as 64 hex characters or 32 bytes in base64 (e.g. `openssl rand -base64 32`), or fix the audit.key file.',
  },
  AUDIT_KEY_MISMATCH: {
    status: 500,
    exit: 1,
    meaning:
      "The audit key is not the one this state store's audit chain is keyed with (or the store's key marker was removed); the control plane refuses to start and changes nothing.",
    hint: 'Start with the original key (IDP_AUDIT_KEY or <data-dir>/audit.key, e.g. from your backup); every control plane on one store needs the same key.',
  },
  SECRET_PATH_INVALID: {
    status: 400,
    exit: 2,
    meaning:
      'A secret path is not <env>/<service>/<KEY> (or, for access requests, <env>/<service>/* or a KEY prefix ending in *).',
    hint: 'Use e.g. staging/payments-api/STRIPE_KEY: env and service are DNS labels, KEY is letters, digits and _ . -',
  },
  SECRET_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No secret (or no such version of it) exists at this path.',
    hint: 'Run `idp secret:list` to see the secrets you may list (--env and --service narrow it).',
    hintFor: fillHint.secretNotFound,
  },
  SECRET_INTEGRITY_FAILED: {
    status: 500,
    exit: 1,
    meaning:
      'A stored secret did not decrypt: its ciphertext or wrapped key was changed, or it was written under another master key. Nothing was returned.',
    hint: 'Restore the secret from a backup or set it again (`idp secret:set`), and find out who had write access to the store.',
  },
  WORKLOAD_TOKEN_NOT_FOUND: {
    status: 404,
    exit: 4,
    meaning: 'No workload token you may see has this id (you see the ones you made; platform admins see all).',
    hint: 'Run `idp secret:token:list` to see workload token ids.',
  },
  WORKLOAD_TOKEN_ALREADY_REVOKED: {
    status: 409,
    exit: 1,
    meaning: 'The workload token was already revoked.',
    hint: 'Nothing to do; `idp secret:token:list` shows its state.',
  },
  MASTER_KEY_INVALID: {
    status: 500,
    exit: 1,
    meaning:
      "The secret store's master key (IDP_MASTER_KEY or <data-dir>/master.key) is unreadable or not 32 bytes in base64 or hex.",
    hint: 'Give IDP_MASTER_KEY as 64 hex characters or 32 bytes in base64 (e.g. `openssl rand -base64 32`), or fix the master.key file.',
  },
  MASTER_KEY_MISMATCH: {
    status: 500,
    exit: 1,
    meaning:
      "The master key is not the one the state store's secrets were encrypted with; the control plane refuses to start and changes nothing.",
    hint: 'Start with the original key (IDP_MASTER_KEY or <data-dir>/master.key, e.g. from your backup).',
  },
} as const satisfies Record<string, ErrorCodeSpec>;

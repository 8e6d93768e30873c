/**
 * Hints filled in from an error's details: the names the server knew when it failed (the
 * environment, the service, the deployment id), so "Try this:" is a command to run as it is.
 * Each returns undefined when the details lack what it needs; the catalogue's plain hint, which
 * has no placeholders, is shown then.
 */
type Details = Readonly<Record<string, unknown>>;

function text(d: Details, key: string): string | undefined {
  const v = d[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function texts(d: Details, key: string): string[] | undefined {
  const v = d[key];
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

export const fillHint = {
  catalogLocationExists(d: Details): string | undefined {
    const id = text(d, 'id');
    return id && `Run \`idp catalog:refresh ${id}\` to read it again.`;
  },

  secretNotFound(d: Details): string | undefined {
    const [env, service] = (text(d, 'path') ?? '').split('/');
    return env && service
      ? `Run \`idp secret:list --env ${env} --service ${service}\` to see the secrets you may list there.`
      : undefined;
  },

  envExists(d: Details): string | undefined {
    const name = text(d, 'name');
    return name && `Pick another --name, or see it with \`idp env:get ${name}\`.`;
  },

  envNameReserved(d: Details): string | undefined {
    const name = text(d, 'name');
    return (
      name &&
      `Pick another --name: ${name} is a base environment. To work on a copy of it: \`idp env:create --name=feature-${name} --from=${name}\`.`
    );
  },

  envQuotaExceeded(d: Details): string | undefined {
    const yours = texts(d, 'yours');
    return (
      yours &&
      `Delete one you no longer need, e.g. \`idp env:delete ${yours[0]}\` (yours, oldest first: ${yours.join(', ')}).`
    );
  },

  envBaseProtected(d: Details): string | undefined {
    const name = text(d, 'name');
    return (
      name &&
      `Change base environments in the config file; to work on a copy of ${name}: \`idp env:create --name=feature-${name} --from=${name}\`.`
    );
  },

  envNotReady(d: Details): string | undefined {
    const name = text(d, 'name');
    if (!name) return undefined;
    if (text(d, 'status') === 'failed') return `Remove it with \`idp env:delete ${name}\`, then create it again.`;
    return `Follow it with \`idp env:get ${name} --watch\`; a failed environment can be removed with \`idp env:delete ${name}\`.`;
  },

  deployTeamMismatch(d: Details): string | undefined {
    const team = text(d, 'expected');
    return team && `Set service.team in .idp/deploy.yaml to ${team}, the owner the catalog names.`;
  },

  releaseNotFound(d: Details): string | undefined {
    const service = text(d, 'service');
    return (
      service &&
      `Run \`idp deploy:history --service ${service}\` to see its versions, or deploy from the repository with \`idp deploy\`.`
    );
  },

  deploymentNotFound(d: Details): string | undefined {
    const service = text(d, 'service');
    const env = text(d, 'env');
    return service && env ? `Run \`idp deploy:history --service ${service} --env ${env}\`.` : undefined;
  },

  deployInProgress(d: Details): string | undefined {
    const id = text(d, 'id');
    return (
      id &&
      `Follow it with \`idp deploy:status ${id} --watch\`, promote it (\`idp deploy:promote ${id}\`) or abort it (\`idp deploy:abort ${id}\`).`
    );
  },

  deployNotActive(d: Details): string | undefined {
    const id = text(d, 'id');
    return id && `Run \`idp deploy:status ${id}\` to see how it ended; \`idp rollback\` returns to an earlier version.`;
  },

  rollbackTargetInvalid(d: Details): string | undefined {
    const service = text(d, 'service');
    const env = text(d, 'env');
    return service && env
      ? `Run \`idp deploy:history --service ${service} --env ${env}\` to see the versions that were healthy.`
      : undefined;
  },
};

/**
 * The placeholders in a hint's commands (the backticked spans) that stand for something the server
 * knows when it fails (`NAME`, `ID`, `PATH`, `--env E`, `<id>`, `<topic>`). A format described in
 * prose (`user:<email>`, `<env>/<service>/<KEY>`) is not a command and is not looked at; what only
 * the user has (their token, a git ref) is not a placeholder the server could fill.
 */
export function hintPlaceholders(hint: string): string[] {
  const found: string[] = [];
  for (const [, command] of hint.matchAll(/`([^`]*)`/g))
    for (const m of command!.matchAll(
      /\b(?:NAME|ID|ENV|SERVICE|PATH|WHY|VERSION)\b|--(?:service|env)[ =][SE]\b|<(?:id|name|env|service|ns|namespace|topic|path)>|…/g,
    ))
      found.push(m[0]);
  return found;
}

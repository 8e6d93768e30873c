/**
 * The `idp policy:check` command that asks the same question as a real authorization: the
 * principal, the action, the resource (`environment:staging`) and the request's context (what
 * the policies read beyond the entities, and what policy:check needs to build a resource that
 * does not exist yet, such as env:create's `from`). `now` is left out: policy:check uses its own.
 */
export function policyCheckCommand(req: {
  principal: string;
  action: string;
  resource: string;
  context?: Readonly<Record<string, unknown>>;
}): string {
  const context = Object.fromEntries(
    Object.entries(req.context ?? {}).filter(([k, v]) => k !== 'now' && v !== undefined),
  );
  const parts = ['idp policy:check', `--principal ${shellWord(req.principal)}`, `--action ${shellWord(req.action)}`];
  parts.push(`--resource ${shellWord(req.resource)}`);
  if (Object.keys(context).length > 0) parts.push(`--context ${shellQuote(JSON.stringify(context))}`);
  return parts.join(' ');
}

/** A word as it is when it needs no quotes (refs, actions), otherwise single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : shellQuote(word);
}

/** Single quotes for a POSIX shell: a quote inside becomes '\''. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { api } from './server.ts';
import { waitUntil } from './wait.ts';

/**
 * A Template in Backstage's format written to `dir/template.yaml` (with a skeleton unless
 * `skeleton: false`), for registering as a file location. Its steps: debug:log (with a secret
 * parameter in the message), fetch:template of ./skeleton, a debug:log per item of `each`, a
 * step whose `if` is false by default, and catalog:register of `holdUrl` when given (a URL the
 * test answers when it wants: a step that blocks on something the test controls).
 */
export function writeTemplate(
  dir: string,
  name: string,
  opts: { skeleton?: boolean; holdUrl?: string; tags?: string[]; owner?: string } = {},
): string {
  mkdirSync(dir, { recursive: true });
  const steps = [
    `    - id: hello
      name: Say hello
      action: debug:log
      input:
        message: 'hello \${{ parameters.name }} with \${{ parameters.token }}'`,
    `    - id: fetch
      name: Fetch the skeleton
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: \${{ parameters.name }}
          replicas: \${{ parameters.replicas }}`,
    `    - id: items
      action: debug:log
      each: ['a', 'b']
      input:
        message: 'item \${{ each.value }} of \${{ parameters.name }}'`,
    `    - id: fancy
      if: \${{ parameters.flavour == 'fancy' }}
      action: debug:log
      input:
        message: fancy`,
  ];
  if (opts.holdUrl)
    steps.push(`    - id: register
      name: Register the component
      action: catalog:register
      input:
        catalogInfoUrl: ${opts.holdUrl}`);
  writeFileSync(
    join(dir, 'template.yaml'),
    `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: ${name}
  title: ${name} template
  description: A test template
  tags: [${(opts.tags ?? ['test']).join(', ')}]
spec:
  owner: ${opts.owner ?? 'group:default/platform'}
  type: service
  parameters:
    - title: Basics
      required: [name, token]
      properties:
        name:
          type: string
          pattern: '^[a-z][a-z0-9-]*$'
        replicas:
          type: number
          default: 2
        token:
          type: string
          ui:field: Secret
    - title: Flavour
      properties:
        flavour:
          type: string
          enum: [plain, fancy]
          default: plain
  steps:
${steps.join('\n')}
  output:
    links:
      - title: Repository
        url: https://git.example.com/\${{ parameters.name }}
    text:
      - title: Done
        content: 'made \${{ parameters.name }}'
`,
  );
  if (opts.skeleton !== false) writeSkeleton(dir);
  return join(dir, 'template.yaml');
}

export function writeSkeleton(dir: string): void {
  mkdirSync(join(dir, 'skeleton', '${{ values.name }}'), { recursive: true });
  writeFileSync(join(dir, 'skeleton', 'README.md'), '# ${{ values.name }}\n\nReplicas: ${{ values.replicas }}\n');
  writeFileSync(join(dir, 'skeleton', '${{ values.name }}', 'index.js'), "console.log('${{ values.name }}');\n");
  writeFileSync(join(dir, 'skeleton', 'logo.bin'), Buffer.from([0xff, 0xfe, 0x00, 0x80]));
}

/** An HTTP server whose answers wait until the test releases them (catalog-info.yaml of a Component). */
export class HoldServer {
  private server: Server | null = null;
  private held: { res: ServerResponse; n: number }[] = [];
  private released = false;
  requests = 0;
  url = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.requests++;
      if (this.released) return this.answer(res);
      this.held.push({ res, n: this.requests });
      // A client that went away (a killed control plane) is no longer held.
      res.on('close', () => (this.held = this.held.filter((h) => h.res !== res)));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this.url;
  }

  private answer(res: ServerResponse): void {
    res
      .writeHead(200, { 'content-type': 'text/yaml' })
      .end(
        'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: held-component\nspec:\n  type: service\n  lifecycle: experimental\n  owner: group:payments\n',
      );
  }

  /** Waits until a request later than the `after`-th one is held. */
  async waitHeld(after = 0): Promise<void> {
    await waitUntil('a held request', () => this.held.some((h) => h.n > after), { timeout: 30_000 });
  }

  release(): void {
    this.released = true;
    for (const h of this.held.splice(0)) this.answer(h.res);
  }

  hold(): void {
    this.released = false;
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Waits until the task's status is one of `statuses`; returns the task. */
export async function waitForTask(
  server: { url: string },
  token: string,
  id: string,
  statuses: string[],
  timeout = 60_000,
): Promise<any> {
  let last: any;
  await waitUntil(
    `task ${id} to be ${statuses.join(' or ')}`,
    async () => {
      const res = await api(server, token, 'GET', `/api/tasks/${id}`);
      last = res.json;
      if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
      if (!statuses.includes(res.json.status)) throw new Error(`status ${res.json.status}: ${res.text}`);
      return true;
    },
    { timeout, interval: 100 },
  );
  return last;
}

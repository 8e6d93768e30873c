import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.ts';

export default class Server extends BaseCommand<typeof Server> {
  static override summary = 'Run the idp control plane (HTTP API) in the foreground.';
  static override description = [
    'Starts the control plane and keeps running until Ctrl+C (SIGINT) or SIGTERM, then shuts down cleanly.',
    'Start-up messages and request logs go to stderr. Each flag falls back to an environment variable',
    '(IDP_PORT, IDP_DATA_DIR, IDP_CONFIG, IDP_HOST); IDP_DATABASE_URL selects PostgreSQL instead of SQLite,',
    'IDP_ADMIN_TOKEN sets the bootstrap admin token (otherwise one is generated into <data-dir>/admin-token).',
  ].join(' ');
  static override examples = [
    {
      description: 'Start with the defaults (port 7070, ./.idp, the acme example organisation).',
      command: '<%= config.bin %> <%= command.id %>',
    },
    {
      description: 'Another port and data directory.',
      command: '<%= config.bin %> <%= command.id %> --port 8080 --data-dir /var/lib/idp',
    },
    {
      description: 'Your own organisation.',
      command: '<%= config.bin %> <%= command.id %> --config ./idp.config.yaml',
    },
  ];
  static override flags = {
    port: Flags.integer({
      min: 0,
      max: 65535,
      summary: 'Port to listen on; 0 picks a free one. Default: IDP_PORT or 7070.',
    }),
    'data-dir': Flags.string({
      summary: 'Directory for the SQLite state store and the admin token. Default: IDP_DATA_DIR or ./.idp.',
    }),
    config: Flags.string({ summary: 'Path of idp.config.yaml. Default: IDP_CONFIG or examples/acme/idp.config.yaml.' }),
    host: Flags.string({ summary: 'Interface to bind. Default: IDP_HOST or 127.0.0.1.' }),
  };

  async run(): Promise<void> {
    // Loaded on demand: the server pulls in Fastify, the database drivers and the policy engine,
    // which no other command needs.
    const { startServer } = await import('@idp/server');
    const { port, host } = this.flags;
    const server = await startServer({
      ...(port !== undefined ? { port } : {}),
      ...(host !== undefined ? { host } : {}),
      ...(this.flags['data-dir'] !== undefined ? { dataDir: this.flags['data-dir'] } : {}),
      ...(this.flags.config !== undefined ? { configPath: this.flags.config } : {}),
    });

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    this.info(`${signal}: stopping the control plane (press Ctrl+C again to force)`);
    // A second signal means the clean shutdown is taking too long for the person waiting.
    const force = () => process.exit(1);
    process.once('SIGINT', force);
    process.once('SIGTERM', force);
    await server.close();
    this.info('stopped');
  }
}

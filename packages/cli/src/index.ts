export { main } from './main.ts';
export { BaseCommand, type CommandArgs, type CommandFlags } from './base-command.ts';
export { reportError, toIdpError } from './errors.ts';
export {
  renderData,
  listSpec,
  recordSpec,
  formatTime,
  OUTPUT_FORMATS,
  type OutputFormat,
  type TableSpec,
  type Column,
  type Field,
} from './output.ts';
export {
  configDir,
  credentialsPath,
  readCredentials,
  writeCredentials,
  removeCredentials,
  resolveConnection,
  DEFAULT_URL,
  type StoredCredentials,
  type Connection,
} from './credentials.ts';
export { COMMANDS } from './commands/index.ts';

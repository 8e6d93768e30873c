import type { Command } from '@oclif/core';
import Audit from './audit/index.ts';
import AuditVerify from './audit/verify.ts';
import Login from './login.ts';
import Logout from './logout.ts';
import PolicyCheck from './policy/check.ts';
import Server from './server.ts';
import TokenCreate from './token/create.ts';
import TokenList from './token/list.ts';
import TokenRevoke from './token/revoke.ts';
import Whoami from './whoami.ts';

/**
 * Command id → class, read by oclif's explicit discovery strategy (package.json "oclif.commands").
 * A new command needs its file under <topic>/<verb>.ts and a line here.
 */
export const COMMANDS: Record<string, Command.Class> = {
  server: Server,
  login: Login,
  logout: Logout,
  whoami: Whoami,
  'token:create': TokenCreate,
  'token:list': TokenList,
  'token:revoke': TokenRevoke,
  audit: Audit,
  'audit:verify': AuditVerify,
  'policy:check': PolicyCheck,
};

import type { Command } from '@oclif/core';
import Audit from './audit/index.ts';
import AuditVerify from './audit/verify.ts';
import CatalogDeps from './catalog/deps.ts';
import CatalogErrors from './catalog/errors.ts';
import CatalogGet from './catalog/get.ts';
import CatalogIdentitySource from './catalog/identity-source.ts';
import CatalogImpact from './catalog/impact.ts';
import CatalogList from './catalog/list.ts';
import CatalogLocations from './catalog/locations.ts';
import CatalogRefresh from './catalog/refresh.ts';
import CatalogRegister from './catalog/register.ts';
import CatalogUnregister from './catalog/unregister.ts';
import Login from './login.ts';
import Logout from './logout.ts';
import Logs from './logs.ts';
import Traces from './traces.ts';
import Metrics from './metrics.ts';
import Dash from './dash.ts';
import OnCall from './oncall.ts';
import PolicyCheck from './policy/check.ts';
import Server from './server.ts';
import TeamGet from './team/get.ts';
import TeamList from './team/list.ts';
import TokenCreate from './token/create.ts';
import TokenList from './token/list.ts';
import TokenRevoke from './token/revoke.ts';
import Whoami from './whoami.ts';
import SecretSet from './secret/set.ts';
import SecretGet from './secret/get.ts';
import SecretList from './secret/list.ts';
import SecretDelete from './secret/delete.ts';
import SecretVersions from './secret/versions.ts';
import SecretToken from './secret/token.ts';
import SecretTokenList from './secret/token/list.ts';
import SecretTokenRevoke from './secret/token/revoke.ts';
import AccessRequest from './access/request.ts';
import AccessList from './access/list.ts';
import AccessApprove from './access/approve.ts';
import AccessDeny from './access/deny.ts';
import AccessRevoke from './access/revoke.ts';
import AccessStats from './access/stats.ts';
import EnvCreate from './env/create.ts';
import EnvList from './env/list.ts';
import EnvGet from './env/get.ts';
import EnvExtend from './env/extend.ts';
import EnvDelete from './env/delete.ts';
import EnvConnect from './env/connect.ts';
import PreviewList from './preview/list.ts';
import PreviewGet from './preview/get.ts';
import PreviewRedeploy from './preview/redeploy.ts';
import PreviewDelete from './preview/delete.ts';
import Deploy from './deploy/index.ts';
import DeployValidate from './deploy/validate.ts';
import DeploySchema from './deploy/schema.ts';
import DeployStatus from './deploy/status.ts';
import DeployPromote from './deploy/promote.ts';
import DeployAbort from './deploy/abort.ts';
import DeployHistory from './deploy/history.ts';
import Rollback from './rollback.ts';
import Undeploy from './undeploy.ts';
import TemplateList from './template/list.ts';
import TemplateGet from './template/get.ts';
import Create from './create.ts';
import TaskList from './task/list.ts';
import TaskGet from './task/get.ts';
import TaskLogs from './task/logs.ts';
import TaskRetry from './task/retry.ts';
import TaskCancel from './task/cancel.ts';

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
  'catalog:register': CatalogRegister,
  'catalog:locations': CatalogLocations,
  'catalog:refresh': CatalogRefresh,
  'catalog:unregister': CatalogUnregister,
  'catalog:identity-source': CatalogIdentitySource,
  'catalog:errors': CatalogErrors,
  'catalog:list': CatalogList,
  'catalog:get': CatalogGet,
  'catalog:deps': CatalogDeps,
  'catalog:impact': CatalogImpact,
  logs: Logs,
  traces: Traces,
  metrics: Metrics,
  dash: Dash,
  oncall: OnCall,
  'team:list': TeamList,
  'team:get': TeamGet,
  'secret:set': SecretSet,
  'secret:get': SecretGet,
  'secret:list': SecretList,
  'secret:delete': SecretDelete,
  'secret:versions': SecretVersions,
  'secret:token': SecretToken,
  'secret:token:list': SecretTokenList,
  'secret:token:revoke': SecretTokenRevoke,
  'access:request': AccessRequest,
  'access:list': AccessList,
  'access:approve': AccessApprove,
  'access:deny': AccessDeny,
  'access:revoke': AccessRevoke,
  'access:stats': AccessStats,
  'env:create': EnvCreate,
  'env:list': EnvList,
  'env:get': EnvGet,
  'env:extend': EnvExtend,
  'env:delete': EnvDelete,
  'env:connect': EnvConnect,
  'preview:list': PreviewList,
  'preview:get': PreviewGet,
  'preview:redeploy': PreviewRedeploy,
  'preview:delete': PreviewDelete,
  deploy: Deploy,
  'deploy:validate': DeployValidate,
  'deploy:schema': DeploySchema,
  'deploy:status': DeployStatus,
  'deploy:promote': DeployPromote,
  'deploy:abort': DeployAbort,
  'deploy:history': DeployHistory,
  rollback: Rollback,
  undeploy: Undeploy,
  'template:list': TemplateList,
  'template:get': TemplateGet,
  create: Create,
  'task:list': TaskList,
  'task:get': TaskGet,
  'task:logs': TaskLogs,
  'task:retry': TaskRetry,
  'task:cancel': TaskCancel,
};

// The audit log itself is in src/audit (every capability writes to it); its API is here.
export { auditRoutes } from './routes.ts';

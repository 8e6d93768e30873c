// The policy engine and gate are in src/policy (every capability asks them); its API is here.
export { policyRoutes } from './routes.ts';

export { TokenService, hashToken } from './service.ts';
export { tokenRoutes } from './routes.ts';

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginOptions, RawServerDefault } from 'fastify';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import type { RequestContext } from '../auth/context.ts';
import type { UnauthenticatedGuard } from '../auth/unauthenticated.ts';

// What every route plugin sees, here rather than in app.ts so routes never import the
// composition root that imports them.

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext;
  }
  interface FastifyInstance {
    /** Limits and collapses requests that fail authentication; public routes with their own tokens use it too. */
    unauthenticated: UnauthenticatedGuard;
  }
  interface FastifyContextConfig {
    /** Routes that answer without a token (health, OpenAPI). */
    public?: boolean;
  }
}

export type TypedApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/**
 * A capability's routes: a Fastify plugin, registered in app.ts under its prefix, given only the
 * services it names in `Options` (paths inside it are relative to the prefix).
 */
export type RoutesPlugin<Options extends FastifyPluginOptions = Record<never, never>> = FastifyPluginAsyncZod<Options>;

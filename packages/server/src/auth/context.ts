import type { Principal } from '@idp/contracts';

export interface RequestContext {
  principal: Principal;
  requestId: string;
}

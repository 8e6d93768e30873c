// The policy engine's public shapes: policy sources, Cedar entities, an authorization request and its decision.
import type { CedarUid } from './refs.ts';

export interface PolicySource {
  /** Where the text came from; used only in ids and messages. */
  path: string;
  text: string;
}

export interface CedarEntity {
  uid: CedarUid;
  /** Attribute values in Cedar JSON; an entity reference is written `{ type, id }`. */
  attrs: Record<string, unknown>;
  parents: CedarUid[];
}

export interface AuthorizeRequest {
  principal: CedarUid;
  /** The action id without the `Action::` prefix, e.g. `env:create`. */
  action: string;
  resource: CedarUid;
  context?: Record<string, unknown>;
  entities: CedarEntity[];
}

export interface Decision {
  decision: 'allow' | 'deny';
  permittedBy: string[];
  forbiddenBy: string[];
  reason: string;
  errors: string[];
}

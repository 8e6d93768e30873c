// What the engine derives from the schema: a one-action schema per action, and the entity types without attributes.
import type * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { preparseSchemaOnce } from './preparse.ts';

/**
 * With a schema, Cedar materialises an entity for every declared action on every call (~12 µs
 * for our ~30 actions), so each action gets a schema declaring only itself. That is exact as
 * long as no action is a member of another: then no policy can reach a second action entity.
 * Each is pre-parsed on first use, since doing all of them costs ~200 ms at start-up.
 */
export function actionSchemas(fullSchemaName: string, schema: cedar.SchemaJson<string>): (action: string) => string {
  const root = schema[''];
  const actionGroups = Object.values(schema).some((ns) =>
    Object.values(ns.actions).some((action) => (action.memberOf?.length ?? 0) > 0),
  );
  if (root === undefined || actionGroups) return () => fullSchemaName;
  const nameByAction = new Map<string, string>();
  return (action) => {
    const known = nameByAction.get(action);
    if (known !== undefined) return known;
    // Unknown actions get the full schema, whose validator rejects them by name.
    if (!Object.hasOwn(root.actions, action)) return fullSchemaName;
    const name = `${fullSchemaName}-action-${action}`;
    const answer = preparseSchemaOnce(name, {
      ...schema,
      '': { ...root, actions: { [action]: root.actions[action]! } },
    });
    const chosen = answer.type === 'success' ? name : fullSchemaName;
    nameByAction.set(action, chosen);
    return chosen;
  };
}

export function attributelessTypes(schema: cedar.SchemaJson<string>): Set<string> {
  const types = new Set<string>();
  for (const [namespace, definition] of Object.entries(schema)) {
    for (const [name, entityType] of Object.entries(definition.entityTypes)) {
      const shape = 'shape' in entityType ? entityType.shape : undefined;
      const attributes = shape && 'attributes' in shape ? shape.attributes : undefined;
      const hasTags = 'tags' in entityType && entityType.tags !== undefined;
      if ('enum' in entityType || hasTags || (attributes && Object.keys(attributes).length > 0)) continue;
      types.add(namespace === '' ? name : `${namespace}::${name}`);
    }
  }
  return types;
}

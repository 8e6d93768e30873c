// The Cedar entities of golden paths: a Template (its owner team, tags and type) for template:run,
// a Task (who started it, which template) for task:read.
import { shortRef, type CedarEntity } from '@idp/core';
import type { Principal } from '@idp/contracts';
import { userUid } from '../../identity/index.ts';
import type { TaskRow } from './store.ts';
import type { RunnableTemplate } from './templates-catalog.ts';

export function templateEntity(t: RunnableTemplate): CedarEntity {
  const attrs: Record<string, unknown> = { name: t.name, tags: t.tags };
  if (t.owner?.startsWith('group:')) attrs.owner = { type: 'Group', id: shortRef(t.owner) };
  if (t.type) attrs.type = t.type;
  return { uid: { type: 'Template', id: shortRef(t.ref) }, attrs, parents: [] };
}

export function taskEntity(row: Pick<TaskRow, 'id' | 'created_by' | 'template_ref'>): CedarEntity {
  return {
    uid: { type: 'Task', id: row.id },
    attrs: { owner: userUid(row.created_by), template: row.template_ref },
    parents: [],
  };
}

/** template:run's context: whether the caller belongs to any team of the organization. */
export function runContext(principal: Principal): Record<string, unknown> {
  return { teamMember: principal.teams.length > 0 };
}

import { shortRef, type CedarEntity } from '@idp/core';

/** Who owns a service (catalog), as far as deployments need it. */
export interface ServiceOwners {
  ownerOf(service: string): Promise<string | null>;
}

/** The owning team's short name (`group:default/payments` → `payments`), or null when the catalog has no such service. */
export async function teamOf(owners: ServiceOwners, service: string): Promise<string | null> {
  const owner = await owners.ownerOf(service);
  return owner ? shortRef(owner) : null;
}

/** The Cedar Service entity deploy:* decisions are about. */
export function serviceEntity(service: string, team: string): CedarEntity {
  return { uid: { type: 'Service', id: service }, attrs: { owner: { type: 'Group', id: team } }, parents: [] };
}

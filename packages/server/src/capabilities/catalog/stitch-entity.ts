// One entity's final form: its relations sorted in, its uid and etag, the JSON served, and its search rows
// as a flat list of values (key, value, original_value per row) ready for a bulk insert.
import type { Entity } from '@backstage/catalog-model';
import { canonicalJson } from '@idp/core';
import { toEntityRelations } from './relations.ts';
import { buildSearchRows } from './search.ts';
import { sha1 } from './util.ts';

export interface StitchedEntity {
  etag: string;
  /** The entity as served: uid, etag and relations included. */
  json: string;
  /** Search rows, three values each: key, value, original_value. */
  search: (string | null)[];
}

/** What stitching needs of one entity: as read (or its stored JSON, stitched before), its uid and relations. */
export interface StitchInput {
  /** The entity as read, or the JSON of its stored final form (its relations alone changed). */
  entity: Entity | string;
  uid: string;
  relations: { type: string; target: string }[];
  /** Its stored etag when it was stored before and did not change itself: nothing is written if it holds. */
  unchangedEtag?: string;
}

/** stitchEntity for one StitchInput. */
export function stitchInput(input: StitchInput): StitchedEntity | undefined {
  const processed = typeof input.entity === 'string' ? unstitch(JSON.parse(input.entity) as Entity) : input.entity;
  return stitchEntity(processed, input.uid, input.relations, input.unchangedEtag);
}

/** The entity as read, without what stitching adds (uid, etag, relations). */
export function unstitch(final: Entity): Entity {
  const { relations: _r, ...rest } = final;
  const { uid: _u, etag: _e, ...metadata } = final.metadata;
  return { ...rest, metadata } as Entity;
}

/** The etag of an entity as read with these relations: a change of either changes it. */
export function etagOf(processed: Entity, relations: ReturnType<typeof toEntityRelations>): string {
  return sha1(canonicalJson({ ...processed, relations }));
}

/**
 * The final form of `processed` (the entity as read, without uid, etag and relations) with the
 * relations whose source it is; undefined when its etag is `unchangedEtag` (nothing to write).
 */
export function stitchEntity(
  processed: Entity,
  uid: string,
  relationRows: Iterable<{ type: string; target: string }>,
  unchangedEtag?: string,
): StitchedEntity | undefined {
  const relations = toEntityRelations(relationRows);
  const etag = etagOf(processed, relations);
  if (etag === unchangedEtag) return undefined;
  const final = { ...processed, metadata: { ...processed.metadata, uid, etag }, relations } as Entity;
  const search: (string | null)[] = [];
  for (const s of buildSearchRows(final)) search.push(s.key, s.value, s.original);
  return { etag, json: JSON.stringify(final), search };
}

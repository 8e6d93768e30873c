import type {
  CatalogEntity,
  CatalogEntityPage,
  CatalogErrorList,
  CatalogLocationList,
  DependencyTree,
  ImpactReport,
  OnCallContact,
  RefreshResult,
  RefreshResultList,
  RegisterLocationRequest,
} from '@idp/contracts';
import { ApiModule } from './api-module.ts';

/** A location to register; `dryRun` defaults to false on the server. */
export type RegisterLocation = Omit<RegisterLocationRequest, 'dryRun'> & { dryRun?: boolean };

/** Entity list filters, all optional; `q` is a free-text search, `cursor` continues a listing. */
export interface EntityFilter {
  kind?: string;
  owner?: string;
  type?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

const LOCATIONS = '/api/catalog/idp/locations';

/** The software catalog: its locations, its entities and the views over their relations. */
export class CatalogApi extends ApiModule {
  /** Reads the location now; a dry run reports what it would add without storing anything. */
  registerLocation(req: RegisterLocation): Promise<RefreshResult> {
    return this.http.request('POST', LOCATIONS, { body: req });
  }

  listLocations(): Promise<CatalogLocationList> {
    return this.http.request('GET', LOCATIONS);
  }

  /** Marks or unmarks a location as an identity source (platform admins) and reads it again. */
  setIdentitySource(id: string, identitySource: boolean): Promise<RefreshResult> {
    return this.http.request('PUT', `${LOCATIONS}/${encodeURIComponent(id)}/identity-source`, {
      body: { identitySource },
    });
  }

  refreshLocation(id: string): Promise<RefreshResult> {
    return this.http.request('POST', `${LOCATIONS}/${encodeURIComponent(id)}/refresh`);
  }

  /** Every location, one after another, on the server. */
  refreshAll(): Promise<RefreshResultList> {
    return this.http.request('POST', '/api/catalog/idp/refresh');
  }

  /** Removes the location and the entities it provided. */
  async deleteLocation(id: string): Promise<void> {
    await this.http.request('DELETE', `${LOCATIONS}/${encodeURIComponent(id)}`);
  }

  /** Problems met reading locations: every location's, or one location's by id. */
  catalogErrors(locationId?: string): Promise<CatalogErrorList> {
    return this.http.request('GET', '/api/catalog/idp/errors', { query: { location: locationId } });
  }

  listEntities(filter: EntityFilter = {}): Promise<CatalogEntityPage> {
    return this.http.request('GET', '/api/catalog/idp/entities', { query: { ...filter } });
  }

  /** `ref` may be short (`payments-api`, `group:payments`); the server resolves it. */
  getEntity(ref: string): Promise<CatalogEntity> {
    return this.http.request('GET', '/api/catalog/idp/entity', { query: { ref } });
  }

  /** What `ref` depends on, as a tree; `depth` defaults on the server. */
  dependencies(ref: string, depth?: number): Promise<DependencyTree> {
    return this.http.request('GET', '/api/catalog/idp/deps', { query: { ref, depth } });
  }

  /**
   * Everything that depends on `ref`, transitively, with the teams to tell; with `page.limit`, one
   * page of it (pass the answer's nextCursor as `page.cursor` for the next).
   */
  impact(ref: string, page: { limit?: number; cursor?: string } = {}): Promise<ImpactReport> {
    return this.http.request('GET', '/api/catalog/idp/impact', { query: { ref, ...page } });
  }

  oncall(ref: string): Promise<OnCallContact> {
    return this.http.request('GET', '/api/catalog/idp/oncall', { query: { ref } });
  }
}

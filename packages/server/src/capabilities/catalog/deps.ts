import type { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import type { Directory } from '../../identity/index.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Store } from '../../store/index.ts';
import type { ReadOptions } from './sources.ts';

export interface CatalogSettings {
  /** Targets from idp.config.yaml; relative paths resolve against baseDir. */
  locations: string[];
  refreshInterval: string;
  oncall: Record<string, string>;
  /** Which of `locations` are identity sources (Users, Groups, membership); absent: all of them. */
  identitySources?: string[];
  baseDir: string;
}

/** What the catalog capability is built from (server.ts); its locations and views share them. */
export interface CatalogDeps {
  store: Store;
  audit: AuditLog;
  gate: PolicyGate;
  directory: Directory;
  clock: Clock;
  settings: CatalogSettings;
  log?: (line: string) => void;
  uuid?: () => string;
  readOptions?: ReadOptions;
}

export {
  SecretsService,
  VaultError,
  hashWorkloadToken,
  type GrantLookup,
  type GrantInfo,
  type SecretsDeps,
  type VaultSecret,
} from './service.ts';
export {
  SecretCipher,
  unlockMasterKey,
  resolveMasterKey,
  KEY_CHECK_META,
  type MasterKey,
  type Sealed,
} from './crypto.ts';
export {
  SecretResources,
  catalogOwnership,
  type ServiceOwnership,
  type ResolvedSecret,
  type SecretScope,
} from './resources.ts';
export {
  parseSecretPath,
  parseSecretPattern,
  keyCovers,
  tierLookup,
  type Tier,
  type TierLookup,
  type SecretPath,
} from './paths.ts';
export { secretRoutes } from './routes.ts';
export { vaultRoutes } from './vault-routes.ts';

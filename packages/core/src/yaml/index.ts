export {
  CATALOG_YAML_LIMITS,
  SMALL_YAML_LIMITS,
  YamlError,
  checkExpandedSize,
  checkYamlSource,
  type YamlLimits,
} from './limits.ts';
export { loadYamlDocuments, type YamlValue } from './load.ts';
export { documentValue } from './document.ts';
export { formatSchemaPath, knownKeysAt, locateInDocument, pathAtOffset, type SchemaPath } from './schema-path.ts';

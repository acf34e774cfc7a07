export type { PolicyDefinition } from './definition.js';
export { loadEnvironment, DEFAULT_TIMEOUT_MS, type LoadOptions } from './environment.js';
export {
  readPolicySources,
  definitionsFromDocuments,
  readYamlDocuments,
  parseYamlDocuments,
} from './sources.js';
export { applyPatch, decodePatch } from './patch.js';
export type * from './types.js';

/** ota_config.json, the device config: its schema, its rules (the device's own) and its readers. */

export { type FromOtaResult, fromOta } from "./from-ota.ts";
export {
  ConfigError,
  type ConfigFormat,
  configJson,
  formatOf,
  parseConfig,
  parseConfigText,
  readConfigFile,
} from "./load.ts";
export { completeConfig, configProblems, GITHUB_API, SOURCE_TYPES } from "./rules.ts";
export { OtaConfig } from "./schema.ts";

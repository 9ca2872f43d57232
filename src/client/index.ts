/** The device client seen from the host: board bundles and the state record. */
export {
  BOOTSTRAP_VERSION,
  bundleFiles,
  loaderSource,
  mpotaPackage,
  type ReleaseSource,
  verifiedManifest,
} from "./bundle.ts";
export {
  currentState,
  decodeStateRecord,
  encodeStateRecord,
  firstStateRecord,
  STATE_COPIES,
  type StateRecord,
} from "./state-record.ts";

/** The device client seen from the host: board bundles, the state record, the power-cut matrix. */
export {
  BOOTSTRAP_VERSION,
  bundleFiles,
  loaderSource,
  mpotaPackage,
  type ReleaseSource,
  verifiedManifest,
} from "./bundle.ts";
export { type CutFailure, type CutScenario, cutMatrix, judgeBoard, standardScenarios } from "./powercut.ts";
export {
  currentState,
  decodeStateRecord,
  encodeStateRecord,
  firstStateRecord,
  STATE_COPIES,
  type StateRecord,
} from "./state-record.ts";

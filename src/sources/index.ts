/**
 * Publishing to the sources a board can follow besides an mpota release server: a GitHub release and
 * the micropython_ota static layout (`mpota publish --github`, `--micropython-ota`). The emulators
 * of the git hosts the tests and benchmarks use are in testing/git-hosts.
 */
export { type MicropythonOtaRelease, micropythonOtaPath, writeMicropythonOta } from "./micropython-ota.ts";
export {
  GitHubPublishError,
  type GitHubPublishOptions,
  type GitHubPublishResult,
  publishGitHub,
} from "./publish-github.ts";
export {
  type MicropythonOtaPublishOptions,
  type MicropythonOtaPublishResult,
  publishMicropythonOta,
} from "./publish-micropython-ota.ts";

/**
 * Sources a board can follow besides an mpota release server: emulators of the GitHub, Gitea and Gogs
 * APIs built on real local git repositories (for tests and benchmarks), and the micropython_ota
 * static layout (written by `mpota publish --micropython-ota`).
 */
export type { Emulator, EmulatorOptions, HostedRepo, ReleaseSpec, RequestRecord } from "./emulator.ts";
export { createRepo, type GitRepo, type TreeEntry } from "./git-repo.ts";
export { startGitea, startGogs } from "./gitea.ts";
export { type GitHubEmulator, type GitHubOptions, startGitHub } from "./github.ts";
export {
  type MicropythonOtaRelease,
  type MicropythonOtaServer,
  micropythonOtaPath,
  serveMicropythonOta,
  writeMicropythonOta,
} from "./micropython-ota.ts";
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

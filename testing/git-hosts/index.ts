/**
 * Emulators of the GitHub, Gitea and Gogs APIs built on real local git repositories, for the tests
 * and benchmarks of the boards that follow a git host.
 */
export type { Emulator, EmulatorOptions, HostedRepo, ReleaseSpec, RequestRecord } from "./emulator.ts";
export { createRepo, type GitRepo, type TreeEntry } from "./git-repo.ts";
export { startGitea, startGogs } from "./gitea.ts";
export { type GitHubEmulator, type GitHubOptions, startGitHub } from "./github.ts";

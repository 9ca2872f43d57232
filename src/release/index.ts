/** Building signed releases from a folder or a git ref into the release store. */
export {
  type BuildOptions,
  type BuiltRelease,
  buildRelease,
  type MadePatch,
  type MakePack,
  type MakePatches,
  type NewFile,
  type PatchContext,
  type ReleaseProgress,
} from "./build.ts";
export { ReleaseError } from "./errors.ts";
export { type FilterOptions, JUNK, makeFilter, type PathFilter } from "./filter.ts";
export { listDirFiles, listGitFiles, type SourceFile } from "./list-files.ts";

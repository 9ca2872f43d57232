/**
 * Precompiled releases: .py -> .mpy (format 6, MicroPython 1.19 and later) with mpy-cross in
 * WebAssembly, and the choice of which files stay source.
 */
export { compileMpy, MPY_HEADER, MpyError } from "./compile.ts";
export { compileTree, mpySources } from "./sources.ts";
export { ALWAYS_SOURCE, keepPyPattern, type MpyTreeOptions, modulesToCompile } from "./tree.ts";

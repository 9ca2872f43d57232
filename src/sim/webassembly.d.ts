// The part of the WebAssembly JS API the virtual device uses (TypeScript ships it only with the DOM lib).
declare namespace WebAssembly {
  class Module {}
  class Memory {
    readonly buffer: ArrayBuffer;
  }
  class Instance {
    readonly exports: Record<string, unknown>;
  }
  type Imports = Record<string, Record<string, unknown>>;
  function compile(bytes: Uint8Array): Promise<Module>;
  function instantiate(module: Module, imports?: Imports): Promise<Instance>;
}

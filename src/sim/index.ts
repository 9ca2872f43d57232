export {
  type DeviceOptions,
  type FlashOptions,
  type ResetKind,
  type RunOptions,
  type RunResult,
  VirtualDevice,
} from "./device.ts";
export type { FlashTree } from "./flash.ts";
export { loadTree, writeBackTree } from "./tree.ts";

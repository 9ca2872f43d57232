export {
  type DeviceOptions,
  type FlashOptions,
  type ResetKind,
  type RunOptions,
  type RunResult,
  VirtualDevice,
} from "./device.ts";
export type { FlashTree } from "./flash.ts";
export { loadTree, saveTree } from "./tree.ts";

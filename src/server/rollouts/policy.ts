/**
 * Which release a device is offered: its own pin, else a pin on one of its tags, else its channel,
 * where a rollout in progress sends a stable share of devices (by bucket) to the new release.
 */
import { createHash } from "node:crypto";

/** A device's bucket in a rollout, 0..9999: the same for the same device and rollout, everywhere. */
export function bucketOf(deviceId: string, rolloutId: string): number {
  return createHash("sha256").update(`${rolloutId}\n${deviceId}`).digest().readUInt32BE(0) % 10_000;
}

export interface ChannelRoute {
  version: string | null;
  rollout: null | {
    id: string;
    fromVersion: string | null;
    toVersion: string;
    percent: number;
    state: "running" | "paused";
  };
}

export interface DeviceView {
  id: string;
  /** What the device runs (from its check-in), if known. */
  version: string | null;
  pin: string | null;
  /** The version pinned on one of the device's tags, if any. */
  tagPin: string | null;
}

export function pickVersion(device: DeviceView, route: ChannelRoute): string | null {
  if (device.pin) return device.pin;
  if (device.tagPin) return device.tagPin;
  const rollout = route.rollout;
  if (!rollout) return route.version;
  // A paused rollout spreads no further: only devices already on the new release stay on it.
  if (rollout.state === "paused")
    return device.version === rollout.toVersion ? rollout.toVersion : rollout.fromVersion;
  return bucketOf(device.id, rollout.id) < rollout.percent * 100 ? rollout.toVersion : rollout.fromVersion;
}

/**
 * The running rollout whose new release `pickVersion` gives the device by its bucket: null for a pin,
 * the channel's old release, or a paused rollout (which answers what the device says it runs).
 */
export function offeringRollout(device: DeviceView, route: ChannelRoute): string | null {
  const rollout = route.rollout;
  if (rollout?.state !== "running" || device.pin || device.tagPin) return null;
  return pickVersion(device, route) === rollout.toVersion ? rollout.id : null;
}

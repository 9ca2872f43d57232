/**
 * The server's data layer: the queries of the admin routes, one module per kind of thing (so far
 * all of projects, devices and tokens, and the lookups every route shares). Routes call these and
 * never each other; refusals are DataErrors (errors.ts), which the one error handler (app.ts) maps
 * to HTTP. Each function takes the Kysely instance or a transaction of it.
 */
export type { Change } from "./change.ts";
export {
  deviceEvents,
  findDevices,
  provisionDevice,
  requireDevice,
  setDeviceToken,
  updateDevice,
} from "./devices.ts";
export {
  addKey,
  createProject,
  listPins,
  listProjects,
  projectKeysAndChannels,
  removeKey,
  removePin,
  requireProject,
  setAutoAccept,
  setEnrolmentTokenHash,
  setPin,
} from "./projects.ts";
export { findChannel, findRelease, requireRelease } from "./releases.ts";
export { requireRollout, rolloutView } from "./rollouts.ts";
export {
  bootstrapAdminToken,
  createAdminToken,
  deleteAdminToken,
  listAdminTokens,
  listAudit,
} from "./tokens.ts";

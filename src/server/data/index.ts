/**
 * The server's data layer: its queries, one module per kind of thing (projects, devices, releases,
 * rollouts, admin tokens and the audit log, dashboard sessions, the fleet overview, the health
 * check). Routes and the admin auth call these rather than run queries (all but routes/releases.ts
 * and device-api.ts, so far), and never call each other; refusals are DataErrors (errors.ts), which
 * the one error handler (app.ts) maps to HTTP. Each function takes the Kysely instance or a
 * transaction of it.
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
export { pingDatabase } from "./health.ts";
export { fleetOverview } from "./overview.ts";
export { findChannel, findRelease, releaseBefore, requireRelease } from "./releases.ts";
export {
  advanceRollout,
  changeRolloutState,
  listRollouts,
  requireRollout,
  rolloutView,
  startRollout,
} from "./rollouts.ts";
export { createSession, deleteSession, findLiveSession } from "./sessions.ts";
export {
  bootstrapAdminToken,
  createAdminToken,
  deleteAdminToken,
  findAdminToken,
  listAdminTokens,
  listAudit,
} from "./tokens.ts";

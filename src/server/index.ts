export {
  AdminClient,
  type PublishResult,
  publishRelease,
  type ReleaseFiles,
  releaseFromFolder,
  ServerError,
} from "./admin-client.ts";
export { createServer, DEFAULT_LIMITS, type MpotaServer, type ServerOptions } from "./app.ts";
export { bootstrapAdminToken, createAdminToken } from "./data/index.ts";
export { bucketOf, pickVersion } from "./rollouts/policy.ts";
export { defaultDatabase, type RunningServer, serve } from "./serve.ts";

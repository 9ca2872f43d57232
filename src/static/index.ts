/** The static-site publisher: a stored release in the CDN-ready layout of docs/protocol.md. */
export {
  parseExpiry,
  publishStatic,
  type StaticPublishOptions,
  type StaticPublishResult,
  sitePaths,
  writeChannel,
} from "./publish.ts";
export { type ServedRequest, type StaticServer, serveStatic, siteFile } from "./serve.ts";

/** Releases of the demo's store on the server: publishing what the server lacks, choosing the next one. */
import { compareVersions, parseVersion } from "../manifest/index.ts";
import { type AdminClient, publishRelease, releaseFromStore } from "../server/admin-client.ts";
import type { ReleaseStore } from "../store/index.ts";

/** Publishes every release of `project` in the store that the server does not have; returns their versions. */
export async function publishMissing(
  client: AdminClient,
  store: ReleaseStore,
  project: string,
): Promise<string[]> {
  const { releases } = await client.request<{ releases: Array<{ version: string }> }>(
    "GET",
    `/projects/${project}/releases`,
  );
  const onServer = new Set(releases.map((r) => r.version));
  const published: string[] = [];
  for (const version of store.listReleases(project)) {
    if (onServer.has(version)) continue;
    await publishRelease(client, releaseFromStore(store, project, version), { project });
    published.push(version);
  }
  return published;
}

/** The oldest release of the store newer than `current`, if any. */
export function nextInStore(store: ReleaseStore, project: string, current: string): string | undefined {
  return store.listReleases(project).find((v) => compareVersions(v, current) > 0);
}

/** The version after the newest of the store: its minor number plus one (1.1.0 -> 1.2.0). */
export function nextMinor(store: ReleaseStore, project: string): string {
  const latest = store.latestVersion(project);
  if (latest === undefined) return "1.0.0";
  const v = parseVersion(latest);
  return `${v.major}.${v.minor + 1}.0`;
}

/** Loading what a page shows, and loading it again when the server says it changed. */
import { useCallback, useEffect, useState } from "preact/hooks";
import type { LiveTopic } from "../../src/server/api-schemas.ts";
import { api, seg } from "./api.ts";
import { useLive } from "./live.ts";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/** Loads `load()` when `deps` change, and again (at most once per `everyMs`) when `topics` change. */
export function useData<T>(
  load: () => Promise<T>,
  deps: unknown[],
  topics: LiveTopic[] = [],
  everyMs?: number,
): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const reload = useCallback(() => {
    load().then(
      (value) => {
        setData(value);
        setError(undefined);
      },
      (err: unknown) => setError((err as Error).message),
    );
  }, deps);
  useEffect(reload, [reload]);
  useLive(topics, reload, everyMs);
  return { data, error, reload };
}

export interface ReleaseRow {
  version: string;
  size: number;
  files: number;
  createdAt: string;
}

/** The project's releases, newest first (loaded again when the audit log says something changed). */
export function useReleases(project: string): Loaded<{ releases: ReleaseRow[] }> {
  return useData(
    () => api<{ releases: ReleaseRow[] }>("GET", `/projects/${seg(project)}/releases`),
    [project],
    ["audit"],
  );
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "never". */
export function ago(iso: string | null, now = Date.now()): string {
  if (iso === null) return "never";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function when(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/**
 * `mpota publish --micropython-ota DIR`: writes a stored release into the micropython_ota layout
 * (`DIR/<project>/<tag>_<file>`, `version` last), so boards still running that library (or the mpota
 * drop-in) follow the same build as boards on signed releases.
 */
import type { ReleaseStore } from "../store/index.ts";
import { writeMicropythonOta } from "./micropython-ota.ts";

export interface MicropythonOtaPublishOptions {
  store: ReleaseStore;
  project: string;
  version: string;
  dir: string;
  /** The version tag the layout names (default: the release version, e.g. "1.2.0"). */
  tag?: string;
  /** false: `<tag>/<file>` (for boards calling ota_update(..., use_version_prefix=False)). */
  useVersionPrefix?: boolean;
}

export interface MicropythonOtaPublishResult {
  tag: string;
  /** Paths written below DIR, the version file last. */
  written: string[];
  /** The `filenames` argument boards pass to ota_update(). */
  filenames: string[];
}

export function publishMicropythonOta(options: MicropythonOtaPublishOptions): MicropythonOtaPublishResult {
  const { store, project, version } = options;
  const { envelope } = store.readRelease(project, version);
  const files: Record<string, Uint8Array> = {};
  for (const entry of envelope.signed.files) files[entry.path] = store.readFile(entry.sha256, entry.size);
  const tag = options.tag ?? version;
  const written = writeMicropythonOta(options.dir, {
    project,
    version: tag,
    files,
    useVersionPrefix: options.useVersionPrefix ?? true,
  });
  return { tag, written, filenames: Object.keys(files).sort() };
}

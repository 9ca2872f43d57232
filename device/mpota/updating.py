# mpota.update(): each step runs as a phase (mpota._phase) that loads the modules it needs and drops
# them when it ends, so only this module and one phase's code are in RAM at a time; the values
# between phases are passed as arguments.
from mpota import _phase as phase


def update(force=False, cfg=None):
    cfg = phase("api", "_config", cfg)
    if cfg["led"] or cfg["watchdog_ms"] or cfg["log"] or cfg["battery"]:  # mpota/steps.py watches it
        return __import__("mpota.steps").steps.around(_update, force, cfg)
    return _update(force, cfg)


def _update(force, cfg):
    import mpota
    from mpota import errors

    cfg, current = phase("api", "_ready", cfg, force)
    gated = cfg["schedule"] or cfg["battery"]  # deferrals: mpota/schedule.py
    why = gated and phase("schedule", "deferred", cfg, current, None, force)
    if why:
        return {"ok": True, "version": current, "deferred": why}
    at = phase("api", "_online", cfg)  # the index of the transport used, or None (a deferral joins no network)
    pointer = phase("source", "available", cfg, current, force)
    version = pointer["version"] if pointer else None
    if not phase("api", "_wanted", version, current, force):
        errors.clear()  # nothing to install: an earlier error no longer says how things stand
        return _with_transport(cfg, at, 0, {"ok": True, "version": current, "installed": None})
    why = gated and phase("schedule", "deferred", cfg, current, version, force)
    if why:
        return {"ok": True, "version": current, "deferred": why}
    if mpota.step:
        mpota.step(2, version)  # FETCH
    phase("source", "drop_downloads")  # what a power cut left in the middle of a download
    try:
        # The path of the release, downloaded and verified (signature, project, paths). A pointer of
        # the static layout names its envelope; other sources fetch by version.
        if at is not None and "release" in pointer:  # a metered link carries no larger update pack
            pointer["max_update_bytes"] = cfg["transports"][at].get("max_update_bytes")
        path = phase("source", "fetch_release", cfg, pointer if "release" in pointer else version)
        header = phase("vet", "vet", cfg, path, current, force)
        # A metered link's cap, before any blob.
        carried = 0 if at is None else phase("transport", "carried", cfg, at, path)
        files = phase("install", "install_release", cfg, path, header)
    except Exception as e:
        phase("source", "drop_downloads")  # a refused release leaves nothing on flash
        e = errors.as_update_error(e)
        if e.code not in errors.NETWORK:  # says nothing about the release; the next check retries
            phase("api", "_report", cfg, "failed", version, e.message)
        raise e
    errors.clear()
    why = files["patch_error"]
    if why:  # else nothing worth a request: the next check-in (trial) or confirmed report says it
        phase("api", "_report", cfg, "installed", header["version"], "a patch fell back to the whole file: " + why)
    if mpota.step:
        mpota.step(4, header["version"])  # DONE
    phase("api", "_reset", cfg["reset_mode"], "installed %s, to run on trial" % header["version"])
    result = {"ok": True, "version": current, "installed": header["version"]}
    if files["patched"] or files["patch_failed"]:
        result["files"] = files  # copied / patched / downloaded, and why a patch fell back to the blob
    return _with_transport(cfg, at, carried, result)


def _with_transport(cfg, at, carried, result):
    # The result, saying which transport carried how many release bytes when the config lists them.
    if at is not None:
        result["transport"] = phase("transport", "summary", cfg["transports"][at], carried)
    return result

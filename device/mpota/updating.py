# mpota.update(): check, fetch and verify, vet, install; each phase with only its own modules in RAM
# (api.phase), the values between them passed as arguments.
from mpota.api import _available, _online, _report, _reset, _running, _wanted, _config, phase
from mpota.errors import UpdateError


def _ready(cfg, force):
    # -> (config, state record, running version), once an update may start.
    cfg = _config(cfg)
    rec, slot, current = _running()
    if rec["slot"] != slot:
        raise UpdateError("pending", "the board switches to %s at the next boot: reset first" % rec["versions"][rec["slot"]])
    if rec["state"] == "trial":
        raise UpdateError("trial", "%s is on trial: confirm() or rollback() before updating" % current)
    return cfg, rec, current


def _fetch(cfg, pointer):
    # -> the path of the release, downloaded and verified (signature, project, paths). A pointer of the
    # static layout names its envelope; other sources fetch by version.
    from mpota import source

    return source.fetch_release(cfg, pointer if "release" in pointer else pointer["version"])


def _vet(cfg, path, current, force):
    # -> the release's header, once it is clear this board may install it.
    # A git branch or tag, or a micropython_ota server, gives a file list instead of a signed envelope.
    from mpota import envelope, filelist

    header = filelist.header(path) if filelist.is_list(path) else envelope.header(path)
    _allowed(cfg, header, current, force)
    _keeps_updater(path)
    return header


def _drop_downloads():
    from mpota import source

    source.drop_downloads()


def _carried(cfg, at, path):
    from mpota import transport

    return transport.carried(cfg, at, path)


def _with_transport(cfg, at, carried, result):
    # The result, saying which transport carried how many release bytes when the config lists them.
    if at is not None:
        from mpota import transport

        result["transport"] = transport.summary(cfg["transports"][at], carried)
    return result


def _install(cfg, path, header):
    from mpota import install

    return install.install_release(cfg, path, header)


def _gate(cfg, current, version, force):
    from mpota import schedule

    return schedule.deferred(cfg, current, version, force)


def update(force=False, cfg=None):
    cfg = phase(_config, cfg)
    if cfg["led"] or cfg["watchdog_ms"] or cfg["log"] or cfg["battery"]:  # mpota/steps.py watches it
        return __import__("mpota.steps").steps.around(_update, force, cfg)
    return _update(force, cfg)


def _update(force, cfg):
    import mpota
    from mpota import errors

    cfg, rec, current = phase(_ready, cfg, force)
    gated = cfg["schedule"] or cfg["battery"]  # deferrals: mpota/schedule.py
    why = gated and phase(_gate, cfg, current, None, force)
    if why:
        return {"ok": True, "version": current, "deferred": why}
    at = phase(_online, cfg)  # the index of the transport used, or None (a deferral joins no network)
    pointer = phase(_available, cfg, current, force)
    version = pointer["version"] if pointer else None
    if not phase(_wanted, rec, version, current, force):
        errors.clear()  # nothing to install: an earlier error no longer says how things stand
        return _with_transport(cfg, at, 0, {"ok": True, "version": current, "installed": None})
    why = gated and phase(_gate, cfg, current, version, force)
    if why:
        return {"ok": True, "version": current, "deferred": why}
    if mpota.step:
        mpota.step(2, version)  # FETCH
    phase(_report, cfg, "downloading", version)
    phase(_drop_downloads)  # what a power cut left in the middle of a download
    try:
        path = phase(_fetch, cfg, pointer)
        header = phase(_vet, cfg, path, current, force)
        carried = 0 if at is None else phase(_carried, cfg, at, path)  # a metered link's cap, before any blob
        files = phase(_install, cfg, path, header)
    except Exception as e:
        phase(_drop_downloads)  # a refused release leaves nothing on flash
        e = errors.as_update_error(e)
        if e.code not in errors.NETWORK:  # says nothing about the release; the next check retries
            phase(_report, cfg, "failed", version, e.message)
        raise e
    errors.clear()
    why = files["patch_error"]
    phase(_report, cfg, "installed", header["version"], "a patch fell back to the whole file: " + why if why else None)
    if mpota.step:
        mpota.step(4, header["version"])  # DONE
    _reset(cfg["reset_mode"], "installed %s, to run on trial" % header["version"])
    result = {"ok": True, "version": current, "installed": header["version"]}
    if files["patched"] or files["patch_failed"]:
        result["files"] = files  # copied / patched / downloaded, and why a patch fell back to the blob
    return _with_transport(cfg, at, carried, result)


def _keeps_updater(path):
    # A release must carry the mpota that runs from the slots (lib/mpota/): without it the board would
    # run the release but never update again. (A firmware with mpota frozen in needs no copy.)
    from mpota import filelist

    if not __file__.startswith("/.mpota/slot"):
        return
    for entry in filelist.entries(path):
        if entry["path"] in ("lib/mpota/__init__.py", "lib/mpota/__init__.mpy"):
            return
    raise UpdateError("manifest", "the release does not carry the mpota package (lib/mpota/): "
                      "the board could not update again after installing it")


def _allowed(cfg, header, current, force):
    # An older release only when it is signed as a rollback release from the running version (or
    # pinned by this board's config): a server cannot push a device back to an old, vulnerable version,
    # nor use a rollback release made for one broken release to take back boards on any other.
    from mpota.version import compare, is_version

    new = header["version"]
    # Versions of unsigned sources (commits, tags, version tags) are names, not an order.
    ordered = not header.get("unsigned") and is_version(current)
    if current and ordered and compare(new, current) < 0 and cfg["pin"] != new:
        if not header.get("rollback"):
            raise UpdateError("version", "%s is older than the running %s and not a signed rollback release"
                              % (new, current))
        back = header.get("rollback_from", [])
        if current not in back:
            raise UpdateError("version", "%s is a rollback release from %s only, not from the running %s"
                              % (new, ", ".join(back) or "no release", current))
    if current == new and not force:
        raise UpdateError("version", "%s is already running" % new)
    if header.get("min_loader", 0) > boot_loader_version():
        raise UpdateError("loader", "%s needs loader %d; this board has loader %d" % (new, header["min_loader"], boot_loader_version()))


def boot_loader_version():
    from mpota import state

    return state.loader().LOADER

# mpota: over-the-air updates for this board. Every call returns a value and none raises into the app:
# a failure comes back as {"ok": False, "error": {"code": ..., "message": ...}}, is kept in
# /.mpota/last_error.json and shows in status(). Submodules are imported only by the call that needs
# them, so `import mpota` on the plain boot path costs almost nothing.
from mpota.errors import UpdateError


def _failed(e, version=None):
    from mpota import errors

    e = errors.record(e, version)
    return {"ok": False, "error": {"code": e.code, "message": e.message}}


def _call(fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # errors are values: nothing an update does may crash the app
        return _failed(e)


def _running():
    # -> (state record, the slot this boot runs, its version)
    from mpota import state

    rec = state.load()
    slot = state.running_slot(rec)
    return rec, slot, rec["versions"][slot]


def _reset(mode, what):
    # After an install or a rollback: "hard" resets the board, "soft" restarts MicroPython, "none" lets
    # the app go on (the new slot runs from the next boot). One line first: a console going quiet
    # mid-run should say why.
    import machine

    if mode != "none":
        print("mpota: %s; %s" % (what, "resetting" if mode == "hard" else "restarting MicroPython"))
    if mode == "hard":
        machine.reset()
    elif mode == "soft":
        machine.soft_reset()


def _reset_mode():
    # A rollback must work even when the config is broken (a bad config may be why one rolls back).
    from mpota import config

    try:
        return config.load()["reset_mode"]
    except UpdateError:
        return "hard"


def _status():
    from mpota import errors

    rec, slot, version = _running()
    trial = rec["state"] == "trial" and rec["slot"] == slot
    return {
        "ok": True,
        "version": version,
        "slot": slot,
        "state": "trial" if trial else "good",
        "boots": rec["boots"] if trial else 0,
        "versions": rec["versions"],
        # The release the next boot runs, when it is not this one (after rollback() or update() with
        # reset_mode "none").
        "next": rec["versions"][rec["slot"]] if rec["slot"] != slot else None,
        "failed": rec.get("failed"),
        "why": rec.get("why"),
        "last_error": errors.last(),
    }


def status():
    # What runs, in which state, what failed last and why.
    return _call(_status)


def _confirm():
    from mpota import state

    rec, slot, version = _running()
    if rec["slot"] == slot and rec["state"] == "trial":
        rec["state"] = "good"
        rec["boots"] = 0
        rec["why"] = None
        state.save(rec)
        _report(None, "confirmed", version)
    info = state.run_info()
    if info:
        info["trial"] = False
    return {"ok": True, "version": version}


def confirm():
    # The running release is healthy: it stays, and the previous one's slot may be reused.
    return _call(_confirm)


def feed():
    # Call often from the app's main loop: feeds the trial watchdog (the loader arms it while a release
    # is on trial with trial.watchdog_ms) and confirms the release once trial.auto_confirm_s have passed.
    import sys

    info = getattr(sys.modules.get("boot"), "MPOTA", None)  # set by the loader; None without it
    if not info:
        return
    if info["wdt"]:
        info["wdt"].feed()
    if info["trial"] and info["auto_s"]:
        import time

        if time.ticks_diff(time.ticks_ms(), info["ticks"]) >= info["auto_s"] * 1000:
            confirm()


def _rollback():
    from mpota import state

    rec, slot, version = _running()
    back = rec["versions"][1 - slot]
    if rec["slot"] != slot:
        return {"ok": True, "version": rec["versions"][rec["slot"]]}  # already switching away
    if back is None:
        raise UpdateError("rollback", "no previous release on this board to go back to")
    state.save(state.fall_back(rec, "rolled back by the app from %s" % version))
    _report(None, "rolled_back", version, "rolled back by the app")
    _reset(_reset_mode(), "rolled back from %s to %s" % (version, back))
    return {"ok": True, "version": back}


def rollback():
    # Back to the previous release at once (reset per reset_mode); the release left is not offered again.
    return _call(_rollback)


def _wanted(rec, version, current, force):
    # Whether to install `version`: not the running one and not one that failed here, lately or in
    # the 8 failures before (a pinned one included: no crash loop), unless forced. Older versions are
    # refused later unless signed as a rollback release or pinned.
    from mpota import state

    if version is None:
        return False
    if version == current:
        return force
    return force or not state.failed_here(rec, version)


def _online(cfg):
    # Joins the config's Wi-Fi network when the board is not connected yet (apps that connect
    # themselves leave "wifi" out of the config).
    wifi = cfg["wifi"]
    if not wifi:
        return
    import network
    import time

    sta = network.WLAN(network.STA_IF)
    if sta.isconnected():
        return
    sta.active(True)
    sta.connect(wifi["ssid"], wifi["password"])
    start = time.ticks_ms()
    while not sta.isconnected():
        if time.ticks_diff(time.ticks_ms(), start) > cfg["timeout_s"] * 1000:
            raise UpdateError("wifi", "could not join Wi-Fi network %s within %d s" % (wifi["ssid"], cfg["timeout_s"]))
        time.sleep_ms(100)


def _check(cfg=None):
    # `cfg`: a complete config given by a caller (the micropython_ota drop-in), else ota_config.json.
    from mpota import config, errors

    cfg = cfg or config.load()
    _online(cfg)
    rec, slot, current = _running()
    version = _available(cfg, current, False)
    available = version if _wanted(rec, version, current, False) else None
    # The source answered: an earlier network error is over; with nothing to install, any error is.
    errors.clear(errors.NETWORK if available else None)
    return {"ok": True, "version": current, "available": available}


def _available(cfg, current, force):
    # The version the source offers (or the pinned one); None when there is nothing new.
    if cfg["pin"]:
        return cfg["pin"]
    from mpota import source

    pointer = source.check(cfg, None if force else current)
    if not pointer:
        return None
    from mpota.version import MAX_LENGTH

    version = pointer["version"]
    if len(version) > MAX_LENGTH:  # a tag or commit of an unsigned source: the state record holds 256
        raise UpdateError("version", "the source names a version of %d characters; at most %d are accepted"
                          % (len(version), MAX_LENGTH))
    return version


def check():
    # Is there a release to install? One small request when there is not.
    return _call(_check)


def _update(force, cfg=None):
    from mpota import config, errors

    cfg = cfg or config.load()
    rec, slot, current = _running()
    if rec["slot"] != slot:
        raise UpdateError("pending", "the board switches to %s at the next boot: reset first" % rec["versions"][rec["slot"]])
    if rec["state"] == "trial":
        raise UpdateError("trial", "%s is on trial: confirm() or rollback() before updating" % current)
    _online(cfg)
    version = _available(cfg, current, force)
    if not _wanted(rec, version, current, force):
        errors.clear()  # nothing to install: an earlier error no longer says how things stand
        return {"ok": True, "version": current, "installed": None}
    from mpota import envelope, filelist, install, source

    _report(cfg, "downloading", version)
    source.drop_downloads()  # what a power cut left in the middle of a download
    try:
        path = source.fetch_release(cfg, version)  # downloaded and verified (signature, project, paths)
        # A git branch or tag, or a micropython_ota server, gives a file list instead of a signed envelope.
        header = filelist.header(path) if filelist.is_list(path) else envelope.header(path)
        _allowed(cfg, header, current, force)
        _keeps_updater(path)
        files = install.install_release(cfg, path, header)
    except Exception as e:
        source.drop_downloads()  # a refused release leaves nothing on flash
        e = errors.as_update_error(e)
        if e.code not in errors.NETWORK:  # says nothing about the release; the next check retries
            _report(cfg, "failed", version, e.message)
        raise e
    errors.clear()
    why = files["patch_error"]
    _report(cfg, "installed", header["version"], "a patch fell back to the whole file: " + why if why else None)
    _reset(cfg["reset_mode"], "installed %s, to run on trial" % header["version"])
    result = {"ok": True, "version": current, "installed": header["version"]}
    if files["patched"] or files["patch_failed"]:
        result["files"] = files  # copied / patched / downloaded, and why a patch fell back to the blob
    return result


def _report(cfg, event, version, note=None):
    # Tells the source what happened, when it takes reports (mpota serve): downloading, installed,
    # failed (+ why), confirmed, rolled_back. Best effort: a lost report costs nothing, the next
    # check-in says the same, so a failure here is never the app's problem.
    try:
        from mpota import config, source

        cfg = cfg or config.load()
        m = source.source_module(cfg)
        if m and hasattr(m, "report"):
            source.setup(cfg)
            m.report(cfg, event, version, note)
    except Exception:
        pass


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


def update(force=False):
    # Check, download, verify and install the next release into the free slot, then reset per
    # reset_mode. force=True reinstalls the offered release even when it already runs or failed before.
    return _call(_update, force)

# What mpota's calls do (mpota/__init__.py calls these and turns what they raise into error values),
# the steps of check() and update() included: updating.py runs those one phase at a time, loading
# this module only for the phases that need it. Values pass between phases as arguments.
from mpota.errors import UpdateError


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


def status():
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


def confirm():
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


def notify(version):
    # mpota.notify(): see mpota/schedule.py.
    from mpota import schedule

    return schedule.notify(_running()[2], version)


def rollback():
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


def _wanted(version, current, force):
    # Whether to install `version`: not the running one and not one that failed here, lately or in
    # the 8 failures before (a pinned one included: no crash loop), unless forced. Older versions are
    # refused later unless signed as a rollback release or pinned.
    from mpota import state

    if version is None:
        return False
    if version == current:
        return force
    return force or not state.failed_here(state.load(), version)


def _online(cfg):
    # -> the index of the transport used when the config lists "transports" (mpota/transport.py);
    # else None, after joining the config's Wi-Fi network when the board is not connected yet (apps
    # that connect themselves leave "wifi" out of the config).
    if cfg["transports"]:
        from mpota import transport

        return transport.connect(cfg)
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


def _config(cfg, keep=False):
    # `cfg`: a complete config given by a caller (the micropython_ota drop-in), else ota_config.json
    # (its validated copy while the file is unchanged, which `keep` writes: mpota/config_cache.py).
    if cfg:
        return cfg
    from mpota import config_cache

    return config_cache.load(keep)


def _checking(cfg):
    # check()'s first phase: -> (config, running version, index of the transport used or None), the
    # board online.
    cfg = _config(cfg, True)
    return cfg, _running()[2], _online(cfg)


def _ready(cfg, force):
    # -> (config, running version), once it is clear an update may start (the board joins the network
    # after the deferral gates: updating._online).
    cfg = _config(cfg)
    rec, slot, current = _running()
    if rec["slot"] != slot:
        raise UpdateError("pending", "the board switches to %s at the next boot: reset first"
                          % rec["versions"][rec["slot"]])
    if rec["state"] == "trial":
        raise UpdateError("trial", "%s is on trial: confirm() or rollback() before updating" % current)
    return cfg, current


def _report(cfg, event, version, note=None):
    # Tells the source what happened, when it takes reports (mpota serve): installed (only when a patch
    # fell back: the next check-in says the rest), failed (+ why), confirmed, rolled_back (the server
    # sees the download start itself: the board asks it for the update pack or the envelope). Best
    # effort: a lost report costs nothing, the next check-in says the same, so a failure here is never
    # the app's problem.
    try:
        from mpota import source

        cfg = cfg or _config(None)
        if cfg["source"]["type"] == "server":  # the one source that takes reports
            from mpota.post import report

            source.setup(cfg)
            report(cfg, event, version, note)
    except Exception:
        pass

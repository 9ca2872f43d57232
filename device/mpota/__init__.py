# mpota: over-the-air updates for this board. Every call returns a value and none raises into the app:
# a failure comes back as {"ok": False, "error": {"code": ..., "message": ...}}, is kept in
# /.mpota/last_error.json and shows in status().
# RAM: `import mpota` loads only this file. Each call loads the modules it needs (mpota.api, or
# mpota.updating, then per phase of a check or an update) and drops them all when it returns, so
# between calls mpota holds almost nothing.
# Releases ship the other modules compiled (.mpy) with their sources in py/: a firmware that cannot
# load that .mpy format runs the sources instead (slower, more RAM, but it can still update).


def _load(name):
    # mpota.<name>, from py/ once this firmware has refused a compiled module.
    global __path__
    try:
        return __import__("mpota." + name, None, None, (name,))
    except ValueError:  # "incompatible .mpy file"
        if __path__.endswith("/py"):
            raise
        __path__ += "/py"
        return __import__("mpota." + name, None, None, (name,))


# Modules kept between calls: errors (its UpdateError class must stay the one every module raises)
# and the sources that remember something (a git API's spent rate limit, what check() found); a
# board only ever loads those of its own source.
_LASTING = ("errors", "git_api", "src_git", "src_github", "src_gitea", "src_gogs", "src_micropython_ota")
# Modules a phase keeps for the next (_drop's default): the one running check() or update().
_KEEP = ("checking", "updating") + _LASTING


# During update() on a board with a status LED, an update watchdog, a log level or a battery gate:
# mpota.steps.step, which the download, copy and verify loops call per chunk (None otherwise).
step = None


def _drop(keep=_KEEP):
    # Unloads mpota's modules but those named in `keep`, so that the next phase has their RAM.
    import gc
    import sys

    pkg = globals()
    for name in list(sys.modules):
        if name.startswith("mpota.") and name[6:] not in keep:
            del sys.modules[name]
            pkg.pop(name[6:], None)  # `from mpota import x` also bound x here
    gc.collect()


def _phase(module, name, *args):
    # A step of check() or update(): mpota.<module>.<name>(*args), then every module it loaded is
    # dropped (all but _KEEP). The garbage of the step before goes first, so that the modules this
    # step loads and what it keeps land low in the heap, not in holes around that garbage (a check
    # needs 2 KB less heap).
    import gc

    gc.collect()
    try:
        return getattr(_load(module), name)(*args)
    finally:
        _drop()


def _call(module, name, *args):
    # mpota.<module>.<name>(*args) as a value: nothing an update does may crash the app.
    try:
        return getattr(_load(module), name)(*args)
    except Exception as e:
        try:
            e = _load("errors").record(e)
            return {"ok": False, "error": {"code": e.code, "message": e.message}}
        except Exception as again:  # even recording failed (out of memory, broken flash)
            return {"ok": False, "error": {"code": "internal", "message": "%s: %s" % (type(again).__name__, again)}}
    finally:
        _drop(_LASTING)


def status():
    # What runs, in which state, what failed last and why.
    return _call("api", "status")


def check(cfg=None):
    # Is there a release to install? One small request when there is not. `cfg`: a complete config
    # instead of ota_config.json (the micropython_ota drop-in builds one).
    return _call("checking", "check", cfg)


def update(force=False, cfg=None):
    # Check, download, verify and install the next release into the free slot, then reset per
    # reset_mode. force=True reinstalls the offered release even when it already runs or failed before.
    return _call("updating", "update", force, cfg)


def notify(version=None):
    # The app heard that `version` is out (a LoRa message, say): the next update() skips the
    # schedule's min_interval_s. One small flash write; nothing when `version` already runs.
    return _call("api", "notify", version)


def confirm():
    # The running release is healthy: it stays, and the previous one's slot may be reused.
    return _call("api", "confirm")


def rollback():
    # Back to the previous release at once (reset per reset_mode); the release left is not offered again.
    return _call("api", "rollback")


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

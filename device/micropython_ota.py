# Drop-in for the micropython_ota library (olivergregorius/micropython_ota): the same two calls with
# the same arguments, the same server layout and the same printed messages, but the update goes
# through mpota: the files are written into the free A/B slot, checked, switched to with one write of
# the state record, and rolled back by the loader when the new release does not come up. Put it in the
# app's lib/ folder (beside lib/mpota/) on a board set up with `mpota device bundle`.
#
# Where it differs from the library (docs/migration.md):
# - a power cut or a missing file never leaves a mix of old and new files;
# - files not in `filenames` are carried into the new release unchanged (the library leaves them);
# - the new release runs on trial: it counts as good when it calls ota_update() or
#   check_for_ota_update() again (as code that calls them at every start does); a release that crashes
#   before that is left after trial.max_boots boots (default 3);
# - the loader runs the slot's main.py (a boot.py in `filenames` is installed but not run at boot).


def _config(host, project, filenames, use_version_prefix, user, passwd, timeout):
    # ota_config.json when the board has one (keys, trial settings, Wi-Fi), with its source replaced by
    # the arguments; else a config made of the arguments alone.
    from mpota import config
    from mpota.errors import UpdateError

    try:
        cfg = config.load()
    except UpdateError:
        cfg = config.complete({"project": _name(project), "keys": [], "source": {"type": "static", "url": host}})
    cfg["source"] = {"type": "micropython_ota", "host": host, "project": project,
                     "filenames": list(filenames or ()), "use_version_prefix": bool(use_version_prefix),
                     "user": user, "passwd": passwd}
    cfg["timeout_s"] = timeout
    cfg["reset_mode"] = "none"  # the caller's hard_reset_device / soft_reset_device decide
    return cfg


def _name(project):
    # A project name mpota accepts, from the server folder's name.
    out = "".join(c if "a" <= c <= "z" or "0" <= c <= "9" or c in "._-" else "-" for c in project.lower())
    return (out.strip("._-") or "app")[:64]


def _auth(user, passwd):
    # As the library: both or neither.
    if (user and not passwd) or (passwd and not user):
        raise ValueError("Either only user or pass given. None or both are required.")


def _confirm_running():
    # Reaching this call again means the release on trial came up: keep it.
    import mpota

    s = mpota.status()
    if s.get("ok") and s.get("state") == "trial":
        mpota.confirm()


def _say(result, host, project):
    e = result["error"]
    if e["code"] == "not_found" and e["message"].endswith("no version file on the server"):
        print("Remote version file %s/%s/version not found" % (host, project))
    elif e["code"] == "not_found":
        print("Remote source file %s" % e["message"].split(": HTTP", 1)[0] + " not found")
    else:
        print("Something went wrong: %s: %s" % (e["code"], e["message"]))


def _reset(soft, hard, version=None):
    import machine

    if soft:
        print("Soft-resetting device..." if version is None else
              "Found new version %s, soft-resetting device..." % version)
        machine.soft_reset()
    if hard:
        print("Hard-resetting device..." if version is None else
              "Found new version %s, hard-resetting device..." % version)
        machine.reset()


def ota_update(host, project, filenames, use_version_prefix=True, user=None, passwd=None, hard_reset_device=True,
               soft_reset_device=False, timeout=5, reset_device=None):
    # Installs the version the server names when it differs from the running one, then resets as
    # asked. `reset_device` is the library's older name for hard_reset_device. Prints what went wrong
    # and returns (as the library does); only a user without a password (or the reverse) raises.
    import mpota

    _auth(user, passwd)
    if reset_device is not None:
        hard_reset_device = reset_device
    _confirm_running()
    cfg = _config(host, project, filenames, use_version_prefix, user, passwd, timeout)
    result = mpota.update(False, cfg)
    if not result["ok"]:
        _say(result, host, project)
        return
    if result["installed"]:
        _reset(soft_reset_device, hard_reset_device)


def check_for_ota_update(host, project, user=None, passwd=None, timeout=5, soft_reset_device=False):
    # Resets the board when the server names another version (ota_update at the next start installs
    # it), as the library does; one small request when nothing changed.
    import mpota

    _auth(user, passwd)
    _confirm_running()
    cfg = _config(host, project, (), True, user, passwd, timeout)
    result = mpota.check(cfg)
    if not result["ok"]:
        _say(result, host, project)
        return
    if result["available"]:
        _reset(soft_reset_device, not soft_reset_device, result["available"])

# The state record (which slot runs, trial or good, boot count, versions per slot) is read and written
# by the loader's own functions in /boot.py, so the loader and every release agree on its format
# forever. This module adds the transitions the mpota package makes.
from mpota.errors import UpdateError

ROOT = "/.mpota"


def loader():
    # The loader module: registered as "boot" when it ran this boot; otherwise imported from /boot.py
    # only (a release may carry a boot.py of its own, which must not be picked up).
    import sys

    mod = sys.modules.get("boot")
    if mod is None:
        saved = list(sys.path)
        sys.path.clear()
        sys.path.append("/")
        try:
            import boot as mod
        except ImportError:
            raise UpdateError("loader", "/boot.py (the mpota loader) is missing")
        finally:
            sys.path.clear()
            sys.path.extend(saved)
    if not hasattr(mod, "write_state"):
        raise UpdateError("loader", "/boot.py is not the mpota loader")
    return mod


def run_info():
    # What the loader set up this boot ({"slot", "trial", "wdt", "ticks", "auto_s"}), or None when
    # mpota runs without the loader (tests, a script run over the REPL).
    return getattr(loader(), "MPOTA", None)


def slot_dir(slot):
    return "%s/slot%d" % (ROOT, slot)


def load():
    rec = loader().read_state()
    if rec is None:
        raise UpdateError("state", "no valid state record in /.mpota (state.a and state.b are missing or corrupt)")
    return rec


def save(rec):
    return loader().write_state(rec)


def running_slot(rec):
    info = run_info()
    return info["slot"] if info else rec["slot"]


def fall_back(rec, why):
    return loader().fall_back(rec, why)


def free_slot(rec, target):
    # Before the first byte goes into `target`, record that it holds no release, so that nothing
    # (a rollback, a pending install) can switch to a half-written slot. The running slot stays good.
    running = 1 - target
    if rec["slot"] == running and rec["versions"][target] is None:
        return rec
    rec["slot"] = running
    rec["state"] = "good"
    rec["boots"] = 0
    rec["versions"][target] = None
    rec["hook"] = None
    rec["back_hook"] = None
    return save(rec)


_FAILED_KEPT = 8  # failed releases remembered (ids in the state record, beside the last one by name)


def release_id(version):
    # A failed release as the state record keeps it: 16 hex characters of the SHA-256 of its version.
    import binascii
    import hashlib

    return binascii.hexlify(hashlib.sha256(version.encode()).digest()[:8]).decode()


def failed_here(rec, version):
    # Whether `version` failed on this board: the last failure (by name) or one of the ones before.
    return rec.get("failed") == version or release_id(version) in rec.get("failed_ids", ())


def commit_trial(rec, target, version, cfg, hook, back_hook):
    # THE commit point of an install: from this write on, the next boot runs `target` on trial.
    rec["slot"] = target
    rec["state"] = "trial"
    rec["boots"] = 0
    rec["versions"][target] = version
    trial = cfg["trial"]
    rec["max_boots"] = trial["max_boots"]
    rec["wdt_ms"] = trial["watchdog_ms"]
    rec["auto_s"] = trial["auto_confirm_s"]
    rec["hook"] = hook
    rec["back_hook"] = back_hook
    rec["why"] = None
    # The loader names only the last failed release: it joins the ids of the ones before, so two
    # broken releases taking turns are not each tried again (a forced reinstall forgets its own).
    ids = rec.get("failed_ids") or []
    if rec.get("failed"):
        ids.append(release_id(rec["failed"]))
    new = release_id(version)
    kept = []
    for i in ids:
        if i != new and i not in kept:
            kept.append(i)
    rec["failed_ids"] = kept[-_FAILED_KEPT:]
    if rec.get("failed") == version:
        rec["failed"] = None  # forced reinstall of a version that failed before
    return save(rec)

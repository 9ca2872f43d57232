# mpota loader, version 1: picks the release slot, counts trial boots, falls back to the previous
# release when a new one fails, then runs the slot's main.py. Copied once to /boot.py; never updated
# over the air, so it stays small and depends on nothing in the slots.
# The mpota package in each slot imports this file as module `boot` for the state-record functions.
import sys

LOADER = 1
STATE = "/.mpota/state."
# The longest state record: three versions (the slots' and the failed one) of at most 256 characters
# (mpota/version.py MAX_LENGTH), two hook paths of 255 bytes ('"' escaped) in their slot folder,
# `why` (160 characters, up to 6 bytes each as JSON), 8 failed-release ids, and the short fields.
MAX_RECORD = 3 * 256 + 2 * (2 * 255 + 20) + 160 * 6 + 8 * 19 + 256


def _newest():
    # The state record has two copies, each "<crc32 hex> <json>\n". The newest valid one wins; a
    # copy torn by a power cut fails its CRC and is ignored.
    import json
    import binascii
    import os

    best = None
    at = None
    for c in "ab":
        try:
            # Read at its own size (a few hundred bytes): a block of MAX_RECORD may not be free in a
            # fragmented heap.
            size = os.stat(STATE + c)[6]
            if size > MAX_RECORD:
                continue
            with open(STATE + c, "rb") as f:
                raw = f.read(size)
            body = raw[9:-1]
            if raw[8:9] != b" " or raw[-1:] != b"\n" or int(raw[:8], 16) != binascii.crc32(body):
                continue
            rec = json.loads(body)
            if rec["slot"] in (0, 1) and rec["state"] in ("good", "trial") and len(rec["versions"]) == 2:
                if best is None or rec["seq"] > best["seq"]:
                    best = rec
                    at = c
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return best, at


def read_state():
    return _newest()[0]


def write_state(rec):
    # The only way the device's state changes: overwrite the copy NOT holding the newest record.
    # A cut during this write leaves the newest record intact, so this write is the commit point.
    import json
    import binascii

    old, at = _newest()
    rec["seq"] = (old["seq"] if old else 0) + 1
    body = json.dumps(rec).encode()
    with open(STATE + ("a" if at == "b" else "b"), "wb") as f:
        f.write(("%08x " % binascii.crc32(body)).encode() + body + b"\n")
    return rec


def fall_back(rec, why):
    # Leave the release in the active slot for the other slot's release, if the other slot holds one.
    s = rec["slot"]
    rec["why"] = why[:160]
    rec["state"] = "good"
    rec["boots"] = 0
    if rec["versions"][1 - s] is not None:
        rec["failed"] = rec["versions"][s]
        rec["slot"] = 1 - s
        rec["hook"] = rec.get("back_hook")
        rec["back_hook"] = None
    return rec


def _trial_failed(rec):
    # Why the release on trial has failed, or None: too many boots without confirm(), or the trial
    # watchdog reset the board (the release hung) after it started.
    if rec["boots"] >= rec.get("max_boots", 3):
        return "not confirmed after %d boots" % rec["boots"]
    if rec["boots"] and rec.get("wdt_ms"):
        import machine

        if machine.reset_cause() == machine.WDT_RESET:
            return "hung: the trial watchdog reset the board"
    return None


def _run(path):
    # Runs a file of the release as a board runs main.py: as __main__.
    try:
        f = open(path)
    except OSError:
        raise OSError("this release has no " + path)  # not a bare ENOENT at every boot
    with f:
        source = f.read()
    exec(compile(source, path, "exec"), {"__name__": "__main__", "__file__": path})


def boot():
    global MPOTA
    import os
    import time

    rec = read_state()
    if rec is None:
        print("mpota: no valid state record in /.mpota; nothing to run")
        return
    trial = rec["state"] == "trial"
    changed = trial
    if trial:
        why = _trial_failed(rec)
        if why:
            print("mpota: %s %s; back to %s" % (rec["versions"][rec["slot"]], why, rec["versions"][1 - rec["slot"]]))
            fall_back(rec, why)
            trial = False
        else:
            rec["boots"] += 1
    hook = rec.get("hook")
    if hook or changed:
        rec["hook"] = None
        write_state(rec)
    s = rec["slot"]
    d = "/.mpota/slot%d" % s
    sys.path.insert(0, d + "/lib")
    sys.path.insert(0, d)
    os.chdir(d)
    wdt = None
    if trial and rec.get("wdt_ms"):
        import machine

        wdt = machine.WDT(timeout=rec["wdt_ms"])
    MPOTA = {"slot": s, "trial": trial, "wdt": wdt, "ticks": time.ticks_ms(), "auto_s": rec.get("auto_s", 0)}
    try:
        if hook:
            try:
                _run(hook)
            except Exception as e:
                if trial:
                    raise  # a post_update hook that fails fails its release
                sys.print_exception(e)  # a failed rollback hook must not keep the old release from running
        _run("main.py")
    except Exception as e:
        # A trial release that lets an exception escape has failed: back to the previous one at once.
        # (Re-read: the app may have confirmed itself before it crashed.)
        now = read_state()
        if now is None or now["slot"] != s or now["state"] != "trial":
            raise
        sys.print_exception(e)
        why = "%s: %s" % (type(e).__name__, e)
        print("mpota: %s crashed on trial: %s; back to %s" % (now["versions"][s], why, now["versions"][1 - s]))
        write_state(fall_back(now, "crashed: " + why))
        import machine

        machine.reset()


if __name__ == "__main__":
    import __main__

    # mpota (in the slot) reaches these functions as `import boot` without compiling this file twice.
    sys.modules["boot"] = __main__
    boot()

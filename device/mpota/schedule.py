# When an update may run (docs/device.md, "Boards in the field"): a minimum interval between checks,
# a window of hours by the board's clock, a pause after crashes of the running release, a rollout to
# a share of the boards without a server, and the battery gate. Loaded only for a config with a
# "schedule" or a "battery". Each deferral is its reason, a string; None lets the update go on.
# On flash: /.mpota/schedule, "<time of the last check> <crashes counted> <running version>", rewritten
# once per check that goes out (and when a crash is counted or notify() is called), never on a deferral.
from micropython import const

FILE = "/.mpota/schedule"
_CLOCK_YEAR = const(2024)  # a clock before this was never set (a board starts at 2000 or 1970)


def _load(current):
    # -> [last check time or None, crashes of `current`, current]
    try:
        with open(FILE) as f:
            t, n, v = f.read().split(" ", 2)
        if v == current:
            return [None if t == "-" else int(t), int(n), v]
        return [None if t == "-" else int(t), 0, current]
    except (OSError, ValueError):  # none yet, or cut by a power loss mid-write
        return [None, 0, current]


def _save(rec):
    with open(FILE, "w") as f:
        f.write("%s %d %s" % ("-" if rec[0] is None else rec[0], rec[1], rec[2]))


def clock_set():
    import time

    return time.gmtime()[0] >= _CLOCK_YEAR


def _count_crash(rec):
    # A watchdog reset (or, on an ESP32, a panic) before this boot's first update() counts as a crash
    # of the running release. Once per boot: the flag lives in the mpota package, which stays loaded.
    import machine
    import mpota

    if getattr(mpota, "_crash_seen", False):
        return False
    mpota._crash_seen = True
    if machine.reset_cause() != machine.WDT_RESET:
        return False
    rec[1] += 1
    return True


def _window(w):
    # The reason the window is closed, or None when open; "clock" when the board has no clock.
    import time

    if not clock_set():
        try:
            import ntptime

            ntptime.settime()
        except Exception:  # no ntptime module, no network, no answer: the source's Date header may tell
            pass
    if not clock_set():
        return "clock"
    t = time.gmtime(time.time() + w["utc_offset_min"] * 60)
    start, end, hour = w["start_hour"], w["end_hour"], t[3]
    if (start <= hour < end) if start < end else (hour >= start or hour < end):
        return None
    return "window %02d:00-%02d:00 (UTC%+d min) is closed: board time %02d:%02d" % (
        start, end, w["utc_offset_min"], hour, t[4])


def bucket():
    # This board's place in a rollout, 0..99, the same for every release: sha256 of its id.
    import hashlib
    import machine

    return hashlib.sha256(machine.unique_id()).digest()[0] * 100 // 256


def deferred(cfg, current, version, force):
    # Why the update waits, before the check (version None) or once the source offers `version`;
    # None when it may go on. force=True and a pinned version bypass every deferral.
    if force or (cfg["pin"] and cfg["pin"] != current):
        return None
    return after(cfg, version) if version else before(cfg, current)


def before(cfg, current):
    # Before any request: the battery, crashes, the interval, the window (when the board has a clock).
    # Records the time of the check that goes out.
    import time

    if cfg["battery"]:
        from mpota import battery

        why = battery.deferral(cfg["battery"])
        if why:
            return why
    s = cfg["schedule"]
    if not s:
        return None
    rec = _load(current)
    changed = s["defer_after_crashes"] and _count_crash(rec)
    if changed:
        _save(rec)
    if s["defer_after_crashes"] and rec[1] >= s["defer_after_crashes"]:
        return "%d crashes of %s (watchdog resets) since it was installed; updates wait (force=True overrides)" % (
            rec[1], current)
    now = time.time()
    if s["min_interval_s"] and rec[0] is not None and 0 <= now - rec[0] < s["min_interval_s"]:
        return "last check %d s ago; min_interval_s is %d" % (now - rec[0], s["min_interval_s"])
    if s["window"]:
        why = _window(s["window"])
        if why and why != "clock":
            return why
    if s["min_interval_s"]:
        rec[0] = now
        _save(rec)
    return None


def after(cfg, version):
    # Once the source offers `version`: the window (now that its Date header may have set the clock)
    # and the rollout share.
    s = cfg["schedule"]
    if not s:
        return None
    if s["window"]:
        why = _window(s["window"])
        if why == "clock":
            return "the board's clock is not set (no ntptime answer, no Date header from the source): " \
                   "it cannot tell whether the update window is open"
        if why:
            return why
    b = bucket()
    if b >= s["rollout_percent"]:
        return "rollout: %s goes to boards in buckets below %d; this board is in bucket %d" % (
            version, s["rollout_percent"], b)
    return None


def clock_from_date(date):
    # Sets a board clock that was never set from an HTTP Date ("Sun, 06 Dec 2026 04:18:31 GMT").
    if not date or clock_set():
        return
    try:
        _, d, mon, y, hms, _ = date.split(" ")
        h, mi, sec = hms.split(":")
        m = "JanFebMarAprMayJunJulAugSepOctNovDec".index(mon) // 3 + 1
        import machine

        machine.RTC().datetime((int(y), m, int(d), 0, int(h), int(mi), int(sec), 0))
    except (ValueError, OSError):
        pass  # a malformed Date sets nothing: the window then says the clock is not set


def notify(current, version):
    # The app heard of `version` (a LoRa message, say): the next update() skips min_interval_s.
    if version != current:
        rec = _load(current)
        if rec[0] is not None:
            rec[0] = None
            _save(rec)
    return {"ok": True, "version": current}

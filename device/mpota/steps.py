# What an update shows and feeds while it runs (docs/device.md, "Boards in the field"): the status
# LED, the update watchdog, the console log, and the battery gate again just before the commit.
# Loaded only for a config with "led", "watchdog_ms", "log" or "battery": for the length of update(),
# mpota.step points at step(), which the download, copy, inflate and verify loops call per chunk.
from micropython import const

from mpota.errors import UpdateError, as_update_error

CHUNK = const(0)  # a chunk read from the network or a file: feed, and toggle the LED (no allocation)
FILE = const(1)  # the next file of the release (detail: its path)
FETCH = const(2)  # the source offers a release to install (detail: its version)
COMMIT = const(3)  # the new slot is complete and verified: the state record is next
DONE = const(4)  # installed (detail: the version); the reset follows

# LED patterns: (blinks, ms on and off each)
CONNECTED = (2, 100)
FILE_DONE = (1, 50)
SUCCESS = (3, 300)
FAILURE = (10, 50)

_s = {"pin": None, "on": 1, "wdt": None, "log": 0, "battery": None}


def _led(on):
    pin = _s["pin"]
    level = _s["on"] if on else 1 - _s["on"]
    if pin and pin.value() != level:
        pin.value(level)


def _show(pattern):
    import time

    _led(0)
    for _ in range(pattern[0]):
        for level in (1, 0):
            _led(level)
            time.sleep_ms(pattern[1])
            if _s["wdt"]:
                _s["wdt"].feed()


def _say(level, text):
    # log "error" (1): failures; "info" (2): one line per step; "debug" (3): one per file too.
    if _s["log"] >= level:
        print("mpota: " + text)


def step(kind, detail=None):
    if _s["wdt"]:
        _s["wdt"].feed()
    if kind == CHUNK:
        pin = _s["pin"]
        if pin:
            pin.value(1 - pin.value())
    elif kind == FILE:
        _say(3, "file " + detail)
        _show(FILE_DONE)
    elif kind == FETCH:
        _say(2, "downloading " + detail)
        _show(CONNECTED)
    elif kind == COMMIT:
        if _s["battery"]:
            from mpota import battery

            why = battery.deferral(_s["battery"])
            if why:
                raise UpdateError("battery", why + " before the commit")
        _say(2, "verified; committing")
    elif kind == DONE:
        _say(2, "installed " + detail)
        _show(SUCCESS)


def _start(cfg):
    led = cfg["led"]
    if led:
        import machine

        _s["on"] = 0 if led["active_low"] else 1
        _s["pin"] = machine.Pin(led["pin"], machine.Pin.OUT, value=1 - _s["on"])
        _led(1)  # connecting
    if cfg["watchdog_ms"]:
        import machine
        import sys

        _s["wdt"] = machine.WDT(timeout=cfg["watchdog_ms"])
        # A hardware watchdog cannot be stopped: mpota.feed() in the app's loop feeds it from now on.
        info = getattr(sys.modules.get("boot"), "MPOTA", None)
        if info is not None:
            info["wdt"] = _s["wdt"]
    _s["log"] = (None, "error", "info", "debug").index(cfg["log"])
    _s["battery"] = cfg["battery"]


def around(update, force, cfg):
    # update(force, cfg) with the LED, watchdog, log and battery check on; -> its result.
    import mpota

    _start(cfg)
    if force or cfg["pin"]:  # as for the gates before the download (updating._deferred)
        _s["battery"] = None
    _say(2, "checking for a release")
    mpota.step = step
    try:
        result = update(force, cfg)
    except Exception as e:
        mpota.step = None
        e = as_update_error(e)
        if e.code == "battery":  # the charge fell during the download: nothing was committed
            from mpota.api import _running

            _say(2, "deferred: " + e.message)
            _led(0)
            return {"ok": True, "version": _running()[2], "deferred": e.message}
        _say(1, "update failed: %s: %s" % (e.code, e.message))
        _show(FAILURE)
        raise e
    mpota.step = None
    if result.get("deferred"):
        _say(2, "deferred: " + result["deferred"])
    elif not result["installed"]:
        _say(2, "no new release; %s runs" % result["version"])
        _show(CONNECTED)
    _led(0)
    return result

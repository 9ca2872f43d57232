# The fields of "led", "battery" and "schedule" in /ota_config.json (docs/config.md), apart from
# config.py so that a board without them never loads these tables. Mirrored by src/config/rules.ts.
from mpota.config import _alnum, _object, _text, _whole


def _number(lo, hi):
    return lambda v: type(v) in (int, float) and lo <= v <= hi


def _pin(v):
    return _whole(0, 255)(v) or (_text(v) and len(v) <= 16)


def _function(v):
    # "module.function", each part a Python name.
    if not _text(v) or "." not in v:
        return False
    for part in v.split("."):
        b = part.encode()  # bytes: config.py says why
        if not b or 48 <= b[0] <= 57:  # a digit first
            return False
        for c in b:
            if not (_alnum(c) or c == 95):  # _
                return False
    return True


def _bool(v):
    return v is True or v is False


PIN = 'a pin number from 0 to 255 or a pin name such as "LED"'
VOLTS = "a number of volts from 0 to 60"
LED = (
    ("pin", True, _pin, PIN, None, None),
    ("active_low", False, _bool, "true or false", False, None),
)
BATTERY = (
    ("adc_pin", False, _pin, PIN, None, None),
    ("divider", False, _number(1, 100), "a number from 1 to 100 (battery volts per volt at the pin)", 1, None),
    ("v_min", False, _number(0, 60), VOLTS, 3.3, None),
    ("v_max", False, _number(0, 60), VOLTS, 4.2, None),
    ("min_percent", False, _whole(0, 100), "a whole number from 0 to 100", 20, None),
    ("read", False, _function, 'a function name "module.function" returning the charge in percent', None, None),
)
WINDOW = (
    ("start_hour", True, _whole(0, 23), "a whole number from 0 to 23", None, None),
    ("end_hour", True, _whole(0, 23), "a whole number from 0 to 23", None, None),
    ("utc_offset_min", False, _whole(-720, 840), "a whole number of minutes from -720 to 840", 0, None),
)
SCHEDULE = (
    ("min_interval_s", False, _whole(0, 2592000), "0 (off) or a whole number of seconds up to 2592000 (30 days)",
     0, None),
    ("window", False, _object, "an object", None, WINDOW),
    ("defer_after_crashes", False, _whole(0, 100), "0 (off) or a whole number up to 100", 0, None),
    ("rollout_percent", False, _whole(0, 100), "a whole number from 0 to 100", 100, None),
)


def problems(cfg, out):
    # The rules across fields.
    bat = cfg.get("battery")
    if bat is not None and ("adc_pin" in bat) == ("read" in bat):
        out.append('"battery" needs either "adc_pin" (a voltage divider) or "read" (a fuel gauge), not both')
    if bat is not None and bat.get("v_min", 3.3) >= bat.get("v_max", 4.2):
        out.append('"battery.v_min" must be below "battery.v_max"')
    win = (cfg.get("schedule") or {}).get("window")
    if win is not None and win["start_hour"] == win["end_hour"]:
        out.append('"schedule.window" needs different start_hour and end_hour')

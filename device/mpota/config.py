# /ota_config.json: loaded only when an update is checked (never on the plain boot path) and
# validated field by field. Mirrored by src/config/ on the host (`mpota config`), which gives the
# same messages for the same mistakes.
from mpota.errors import UpdateError

PATH = "/ota_config.json"
DEFAULTS = {
    "channel": "stable",
    "version": None,
    "reset_mode": "hard",
    "max_trial_boots": 3,
    "trial_watchdog_ms": 0,
    "auto_confirm_s": 0,
    "timeout_ms": 10000,
    "retries": 3,
    "ca": None,
    "wifi": None,
    "token": None,
}
REQUIRED = ("url", "project", "keys")


def _name(v):
    # project and channel names: [a-z0-9][a-z0-9._-]{0,63}
    if not isinstance(v, str) or not 1 <= len(v) <= 64:
        return False
    for i, ch in enumerate(v):
        if not ("a" <= ch <= "z" or "0" <= ch <= "9" or (i > 0 and ch in "._-")):
            return False
    return True


def _key(v):
    return isinstance(v, str) and len(v) == 64 and all(ch in "0123456789abcdef" for ch in v)


def _whole(lo, hi):
    return lambda v: type(v) is int and lo <= v <= hi


def _text(v):
    return isinstance(v, str) and len(v) > 0


def _version(v):
    from mpota.version import is_version

    return v is None or is_version(v)


def _wifi(v):
    if v is None:
        return True
    if not isinstance(v, dict) or sorted(v) != ["password", "ssid"]:
        return False
    return isinstance(v["ssid"], str) and 1 <= len(v["ssid"]) <= 32 and isinstance(v["password"], str)


# (field, rule, what the rule asks for); the order is the order of the messages.
FIELDS = (
    ("url", lambda v: isinstance(v, str) and (v.startswith("http://") or v.startswith("https://")) and len(v) > 8,
     "an http:// or https:// URL"),
    ("project", _name, "1 to 64 characters a-z 0-9 . _ - starting with a letter or digit"),
    ("keys", lambda v: isinstance(v, list) and len(v) > 0 and all(_key(k) for k in v),
     "a non-empty list of Ed25519 public keys, each 64 lowercase hex characters"),
    ("channel", _name, "1 to 64 characters a-z 0-9 . _ - starting with a letter or digit"),
    ("version", _version, 'null or a semver version such as "1.2.3"'),
    ("reset_mode", lambda v: v in ("hard", "soft", "none"), '"hard", "soft" or "none"'),
    ("max_trial_boots", _whole(1, 100), "a whole number from 1 to 100"),
    ("trial_watchdog_ms", lambda v: type(v) is int and (v == 0 or 1000 <= v <= 3600000),
     "0 (off) or a whole number of milliseconds from 1000 to 3600000"),
    ("auto_confirm_s", _whole(0, 86400), "0 (off) or a whole number of seconds up to 86400"),
    ("timeout_ms", _whole(100, 600000), "a whole number of milliseconds from 100 to 600000"),
    ("retries", _whole(0, 20), "a whole number from 0 to 20"),
    ("ca", lambda v: v is None or _text(v), "null or the path of a CA certificate file on the board"),
    ("wifi", _wifi, 'null or {"ssid": "...", "password": "..."}'),
    ("token", lambda v: v is None or _text(v), "null or a non-empty string"),
)


def problems(cfg):
    # Every mistake in `cfg`, one message each: unknown keys, missing fields, wrong values.
    if not isinstance(cfg, dict):
        return ["must hold a JSON object"]
    known = [f[0] for f in FIELDS]
    out = ['unknown key "%s"' % k for k in sorted(cfg) if k not in known]
    out += ['missing "%s"' % k for k in REQUIRED if k not in cfg]
    for key, ok, wants in FIELDS:
        if key in cfg and not ok(cfg[key]):
            out.append('"%s" must be %s' % (key, wants))
    return out


def load(path=PATH):
    # -> the config with defaults filled in; UpdateError("config", ...) naming every wrong field.
    import json

    try:
        with open(path) as f:
            cfg = json.loads(f.read())
    except OSError:
        raise UpdateError("config", "%s not found on the board" % path)
    except ValueError as e:
        raise UpdateError("config", "%s is not valid JSON (%s)" % (path, e))
    bad = problems(cfg)
    if bad:
        raise UpdateError("config", "%s: %s" % (path, "; ".join(bad)))
    out = dict(DEFAULTS)
    out.update(cfg)
    out["url"] = out["url"].rstrip("/")
    return out

# /ota_config.json: loaded only when an update is checked (never on the plain boot path) and
# validated field by field. Mirrored rule for rule by src/config/rules.ts on the host (`mpota config`),
# which gives the same messages for the same mistakes (one table of bad configs tests both).
from mpota.errors import UpdateError
from mpota.config_cache import CONFIG as PATH
from mpota.version import is_name as _name

SOURCE_TYPES = ("static", "server", "github", "gitea", "gogs", "micropython_ota")
GITHUB_API = "https://api.github.com"


def _int(v):
    # JSON has one number type: 3.0 is the whole number 3 (as JavaScript reads it); True is not.
    if type(v) is int:
        return v
    if type(v) is float and v == v and -1e15 < v < 1e15 and v == int(v):
        return int(v)
    return None


def _whole(lo, hi):
    def ok(v):
        n = _int(v)
        return n is not None and lo <= n <= hi

    return ok


# The character checks go through bytes: iterating a str makes each character a name that
# MicroPython interns for good (RAM never freed).
def _alnum(c):
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122  # 0-9 A-Z a-z


def _key(v):
    return isinstance(v, str) and len(v) == 64 and all(48 <= c <= 57 or 97 <= c <= 102 for c in v.encode())


def _text(v):
    # A non-empty single-line string.
    return isinstance(v, str) and 0 < len(v) <= 1024 and all(c >= 32 for c in v.encode())


def _url(v):
    if not _text(v) or " " in v:
        return False
    for scheme in ("http://", "https://"):
        if v.startswith(scheme):
            host = v[len(scheme):]
            return len(host) > 0 and host[0] not in "/?#:"
    return False


def _path(v):
    # A relative path as releases name files: manifest.py's rule (only git and micropython_ota configs
    # have paths, so only they load it here).
    from mpota.manifest import path_ok

    return path_ok(v)


def _device_id(v):
    # The server's device ids (src/rules/name.ts): [A-Za-z0-9][A-Za-z0-9._:-]{0,127}.
    if not isinstance(v, str) or not 1 <= len(v) <= 128:
        return False
    for i, c in enumerate(v.encode()):
        if not (_alnum(c) or (i > 0 and c in (46, 95, 58, 45))):  # . _ : -
            return False
    return True


def _repo(v):
    if not isinstance(v, str) or v.count("/") != 1:
        return False
    for part in v.split("/"):
        if not 1 <= len(part) <= 100:
            return False
        for c in part.encode():
            if not (_alnum(c) or c in (46, 95, 45)):  # . _ -
                return False
    return True


def _list_of(ok, empty):
    return lambda v: isinstance(v, list) and (empty or len(v) > 0) and all(ok(x) for x in v)


def _or_null(ok):
    return lambda v: v is None or ok(v)


def _version(v):
    from mpota.version import is_version

    return is_version(v)


def _wifi(v):
    if not isinstance(v, dict) or sorted(v) != ["password", "ssid"]:
        return False
    return isinstance(v["ssid"], str) and 1 <= len(v["ssid"]) <= 32 and isinstance(v["password"], str)


NAME = "1 to 64 characters a-z 0-9 . _ - starting with a letter or digit"
URL = "an http:// or https:// URL"
TEXT = "a non-empty string"
DEVICE_ID = "1 to 128 characters A-Z a-z 0-9 . _ : - starting with a letter or digit"
PATHS = "a list of relative paths such as \"lib/app.py\""
GLOBS = "a list of non-empty strings (glob patterns)"
WIFI_AND_TRANSPORTS = '"wifi" and "transports" exclude each other: list the network under a "wlan" transport'
WATCHDOG_MS = "0 (off) or a whole number of milliseconds from 1000 to 3600000"
SIGNED_POINTER = '"signed_pointer" needs a "static" source: only a static site serves signed channel pointers'


# Boards in the field (docs/device.md): their fields' own tables are in config_field.py, loaded only
# for a config that has one of them.
def _watchdog_ms(v):
    return _int(v) == 0 or _whole(1000, 3600000)(v)


def _object(v):
    return isinstance(v, dict)


# A field: (name, required, rule, what the rule asks for, default or None, nested fields or None).
# The order of the fields is the order of the messages.
TRIAL = (
    ("max_boots", False, _whole(1, 100), "a whole number from 1 to 100", 3, None),
    ("watchdog_ms", False, _watchdog_ms, WATCHDOG_MS, 0, None),
    ("auto_confirm_s", False, _whole(0, 86400), "0 (off) or a whole number of seconds up to 86400", 0, None),
)
_GIT = (
    ("repo", True, _repo, 'a repository name "owner/name"', None, None),
    ("tag", False, _text, TEXT, None, None),
    ("branch", False, _text, TEXT, None, None),
    ("token", False, _text, TEXT, None, None),
    ("subdir", False, _path, 'a relative path such as "firmware"', None, None),
    ("paths", False, _list_of(_path, False), PATHS, None, None),
    ("allow", False, _list_of(_text, True), GLOBS, None, None),
    ("ignore", False, _list_of(_text, True), GLOBS, None, None),
)
SOURCES = {
    "static": (
        ("url", True, _url, URL, None, None),
        ("channel", False, _name, NAME, "stable", None),
    ),
    "server": (
        ("url", True, _url, URL, None, None),
        ("channel", False, _name, NAME, "stable", None),
        ("device_id", True, _device_id, DEVICE_ID, None, None),
        ("token", True, _text, TEXT, None, None),
    ),
    "github": (("api", False, _url, URL, GITHUB_API, None),) + _GIT,
    "gitea": (("api", True, _url, URL, None, None),) + _GIT,
    "gogs": (("api", True, _url, URL, None, None),) + _GIT,
    "micropython_ota": (
        ("host", True, _url, URL, None, None),
        ("project", True, _path, 'a folder name such as "greenhouse"', None, None),
        ("filenames", True, _list_of(_path, False), PATHS, None, None),
        ("use_version_prefix", False, lambda v: v is True or v is False, "true or false", True, None),
        ("user", False, _text, TEXT, None, None),
        ("passwd", False, lambda v: isinstance(v, str), "a string", None, None),
    ),
}
FIELDS = (
    ("project", True, _name, NAME, None, None),
    ("keys", True, _list_of(_key, True), "a list of Ed25519 public keys, each 64 lowercase hex characters",
     None, None),
    ("source", True, lambda v: isinstance(v, dict), "an object with a \"type\"", None, "source"),
    ("reset_mode", False, lambda v: v in ("hard", "soft", "none"), '"hard", "soft" or "none"', "hard", None),
    ("pin", False, _or_null(_version), 'null or a semver version such as "1.2.3"', None, None),
    ("trial", False, lambda v: isinstance(v, dict), "an object", {}, TRIAL),
    ("timeout_s", False, _whole(1, 600), "a whole number of seconds from 1 to 600", 10, None),
    ("retries", False, _whole(0, 20), "a whole number from 0 to 20", 3, None),
    ("ca", False, _or_null(_text), "null or the path of a CA certificate file on the board", None, None),
    ("wifi", False, _or_null(_wifi), 'null or {"ssid": "...", "password": "..."}', None, None),
    ("signed_pointer", False, lambda v: v is True or v is False, "true or false", False, None),
    # The links an update may use, in priority order (mpota/transport.py); none: the board's own.
    ("transports", False, _list_of(lambda v: isinstance(v, dict), False),
     'a non-empty list of objects, each with a "type"', None, "transports"),
) + (
    ("led", False, _object, "an object", None, "field"),
    ("battery", False, _object, "an object", None, "field"),
    ("schedule", False, _object, "an object", None, "field"),
    ("watchdog_ms", False, _watchdog_ms, WATCHDOG_MS, 0, None),
    ("log", False, lambda v: v in ("error", "info", "debug"), '"error", "info" or "debug"', None, None),
)


def _source_fields(src, out):
    # The fields a source of this type has, or None (with the message) when the type is wrong.
    if "type" not in src:
        out.append('missing "source.type"')
    elif src["type"] not in SOURCES:
        out.append('"source.type" must be one of %s' % ", ".join('"%s"' % t for t in SOURCE_TYPES))
    else:
        return (("type", True, lambda v: True, "", None, None),) + SOURCES[src["type"]]
    return None


def _field(name):
    # The nested fields of "led", "battery" or "schedule".
    from mpota import config_field

    return getattr(config_field, name.upper())


def _check(obj, fields, at, out):
    names = [f[0] for f in fields]
    out += ['unknown key "%s%s"' % (at, k) for k in sorted(obj) if k not in names]
    for name, required, ok, wants, _, nested in fields:
        if name not in obj:
            if required:
                out.append('missing "%s%s"' % (at, name))
        elif not ok(obj[name]):
            out.append('"%s%s" must be %s' % (at, name, wants))
        elif nested == "source":
            inner = _source_fields(obj[name], out)
            if inner:
                _check(obj[name], inner, at + name + ".", out)
        elif nested == "transports":  # their rules load only for a config that has them
            from mpota.config_transports import check

            check(obj[name], at + name, out)
        elif nested == "field":
            _check(obj[name], _field(name), at + name + ".", out)
        elif nested:
            _check(obj[name], nested, at + name + ".", out)


def _signed(src):
    # Sources whose releases always come with a signed manifest. A git source (GitHub, Gitea, Gogs)
    # installs signed releases when the board lists keys, else the unsigned files of a branch or tag.
    return src.get("type") in ("static", "server")


def problems(cfg):
    # Every mistake in `cfg`, one message each: unknown keys, missing fields, wrong values.
    if not isinstance(cfg, dict):
        return ["must hold a JSON object"]
    out = []
    _check(cfg, FIELDS, "", out)
    if out:
        return out
    src = cfg["source"]
    if "tag" in src and "branch" in src:
        out.append('"source.tag" and "source.branch" exclude each other: follow one of them')
    if _signed(src) and not cfg["keys"]:
        out.append('"keys" must list at least one public key: releases of a "%s" source are signed'
                   % src["type"])
    if cfg.get("signed_pointer") and src["type"] != "static":
        out.append(SIGNED_POINTER)
    if cfg.get("wifi") and cfg.get("transports"):
        out.append(WIFI_AND_TRANSPORTS)
    if "battery" in cfg or "schedule" in cfg:
        from mpota import config_field

        config_field.problems(cfg, out)
    return out


def _fill(obj, fields):
    for name, _, ok, _, default, nested in fields:
        if name not in obj:
            obj[name] = dict(default) if isinstance(default, dict) else default
        if type(obj[name]) is float and _int(obj[name]) is not None:  # 3.0 is 3; 0.5 stays (cost_per_mb)
            obj[name] = _int(obj[name])
        if obj[name] is not None and nested == "field":
            _fill(obj[name], _field(name))
        elif obj[name] is not None and isinstance(nested, tuple):
            _fill(obj[name], nested)


def complete(cfg):
    # A valid config with every default filled in (the device reads fields without .get()).
    _fill(cfg, FIELDS)
    src = cfg["source"]
    _fill(src, (("type", True, None, "", None, None),) + SOURCES[src["type"]])
    return cfg  # a transport's optional fields stay absent: mpota/transport.py reads them with .get()


def _forget_transport_rules():
    # Their check is done: freed before complete() grows the config's dicts, which then land low in
    # the heap instead of above the rules (a long-lived object up there splits every later phase's RAM).
    import gc
    import sys

    sys.modules.pop("mpota.config_transports", None)
    sys.modules["mpota"].__dict__.pop("config_transports", None)
    gc.collect()


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
    if "transports" in cfg:
        _forget_transport_rules()
    if bad:
        raise UpdateError("config", "%s: %s" % (path, "; ".join(bad)))
    return complete(cfg)

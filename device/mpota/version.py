# Semantic versions (semver 2.0) as releases name them: "1.2.3", "1.2.3-rc.1"; build metadata
# ("+...") is ignored for ordering. At most MAX_LENGTH characters, as `mpota release` allows (the
# loader sizes its read of the state record, which holds three versions, from it), and MAJOR, MINOR
# and PATCH at most 15 digits. Also the rule for project and channel names (is_name), here rather
# than in config.py so that checking a manifest does not load the config checker. The host's rules
# are src/rules/version.ts and name.ts; src/rules/rules.test.ts runs one table through both.
from micropython import const

MAX_LENGTH = const(256)
_MAX_DIGITS = const(15)


def is_name(v):
    # project and channel names: [a-z0-9][a-z0-9._-]{0,63}. Checked as bytes: iterating a str would
    # make each character a name MicroPython interns for good.
    if not isinstance(v, str) or not 1 <= len(v) <= 64:
        return False
    for i, c in enumerate(v.encode()):
        if not (97 <= c <= 122 or 48 <= c <= 57 or (i > 0 and c in (46, 95, 45))):  # . _ -
            return False
    return True


def _ident_ok(s, numeric_strict):
    # [0-9A-Za-z-]+, as bytes (is_name says why)
    if not s:
        return False
    for c in s.encode():
        if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c == 45):
            return False
    if numeric_strict and s.isdigit() and len(s) > 1 and s.startswith("0"):
        return False
    return True


def parse(v):
    # -> (major, minor, patch, [prerelease identifiers]); ValueError if `v` is not semver.
    if not isinstance(v, str) or not v or len(v) > MAX_LENGTH:
        raise ValueError("not a version")
    core = v.split("+", 1)
    if len(core) == 2 and not all(_ident_ok(p, False) for p in core[1].split(".")):
        raise ValueError("bad build metadata")
    core = core[0].split("-", 1)
    nums = core[0].split(".")
    if len(nums) != 3 or not all(n.isdigit() and len(n) <= _MAX_DIGITS and (n == "0" or not n.startswith("0"))
                                 for n in nums):
        raise ValueError("bad major.minor.patch")
    pre = []
    if len(core) == 2:
        pre = core[1].split(".")
        if not all(_ident_ok(p, True) for p in pre):
            raise ValueError("bad prerelease")
    return int(nums[0]), int(nums[1]), int(nums[2]), pre


def is_version(v):
    try:
        parse(v)
        return True
    except ValueError:
        return False


def compare(a, b):
    # -1, 0 or 1 as a is older than, equal to or newer than b.
    pa = parse(a)
    pb = parse(b)
    if pa[:3] != pb[:3]:
        return -1 if pa[:3] < pb[:3] else 1
    ra = pa[3]
    rb = pb[3]
    if ra == rb:
        return 0
    if not ra or not rb:
        return 1 if not ra else -1  # a release is newer than its prereleases
    for x, y in zip(ra, rb):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():
            return -1 if x.isdigit() else 1  # numeric identifiers sort before alphanumeric ones
        return -1 if x < y else 1
    return -1 if len(ra) < len(rb) else 1

# The manifest of a signed envelope read one line at a time (docs/protocol.md layout): line 1 holds
# the signatures, then the header's first line, one file entry per line, the header's last line.
# Apart from envelope.py (the signature and header checks) so that an install, which only reads the
# entries of envelopes verified before, does not hold the verifier in RAM.
from micropython import const

from mpota.errors import UpdateError

MAX_LINE = const(4096)
PIECE = const(256)  # lines are read this much at a time: a typical line is one allocation this size
_MAX_FILE = const(16777216)  # 16 MiB per file
OPEN = b'{"signatures":'
SIGNED = b',"signed":\n'
CLOSE = b"\n}\n"
_HEX = "0123456789abcdef"


def bad(what):
    return UpdateError("manifest", what)


def shown(v):
    # A value as a message shows it: a list or an object by its kind (formatting a deeply nested one
    # would exhaust the stack), a string cut at 300 characters.
    if isinstance(v, list):
        return "(a list)"
    if isinstance(v, dict):
        return "(an object)"
    return v[:297] + "..." if isinstance(v, str) and len(v) > 300 else v


def is_hex(v, n):
    return isinstance(v, str) and len(v) == n and all(c in _HEX for c in v)


def is_int(v, lo, hi):
    return type(v) is int and lo <= v <= hi


def path_ok(p):
    # A release path: relative, /-separated, no empty/./.. segment, no \ or control characters,
    # at most 255 bytes.
    if not isinstance(p, str) or not p or len(p.encode()) > 255 or "\\" in p:
        return False
    for ch in p:
        if ch < " " or ch == "\x7f":
            return False
    for part in p.split("/"):
        if part in ("", ".", ".."):
            return False
    return True


def read_line(f):
    # The next line of f with its line break, PIECE bytes at a time: only a line longer than that
    # (rare: several signatures, many patches) is gathered, up to MAX_LINE + 1 bytes, in a bytearray.
    line = f.readline(PIECE)
    if len(line) < PIECE or line[-1] == 10:
        return line
    long = bytearray(line)
    while len(long) <= MAX_LINE:
        piece = f.readline(PIECE)
        long.extend(piece)
        if len(piece) < PIECE or piece[-1] == 10:
            break
    return bytes(long)


def first_line(f):
    # Line 1 -> the signatures list; the stream is left at the first signed byte.
    import json

    line = read_line(f)
    if not line.startswith(OPEN) or not line.endswith(SIGNED):
        raise bad("not a signed envelope (docs/protocol.md layout)")
    try:
        sigs = json.loads(line[len(OPEN):-len(SIGNED)])
    except ValueError:
        raise bad("the signatures line is not valid JSON")
    if not isinstance(sigs, list) or not all(
            isinstance(s, dict) and is_hex(s.get("keyid"), 16) and is_hex(s.get("sig"), 128) for s in sigs):
        raise bad("malformed signatures")
    return sigs, len(line)


def file_size(path):
    import os

    return os.stat(path)[6]


def _zlib_bound(size):
    # The largest zlib stream of `size` bytes we accept: stored blocks cost 5 bytes per few KB with a
    # 2^10 window (measured: 1291 bytes on 1 MiB of random data), so twice that plus the framing.
    return size + (size >> 8) + 64


def _check_entry(e):
    if not isinstance(e, dict) or not path_ok(e.get("path")):
        raise bad("bad file path %s" % shown(e.get("path") if isinstance(e, dict) else e))
    p = e["path"]
    if not is_int(e.get("size"), 0, _MAX_FILE):
        raise bad("%s: size must be 0 to %d bytes" % (p, _MAX_FILE))
    if not is_hex(e.get("sha256"), 64):
        raise bad("%s: bad sha256" % p)
    if "git_sha1" in e and not is_hex(e["git_sha1"], 40):
        raise bad("%s: bad git_sha1" % p)
    blobs = e.get("blobs")
    if not isinstance(blobs, dict) or not is_int(blobs.get("zlib"), 1, _zlib_bound(e["size"])):
        raise bad("%s: bad compressed size" % p)
    patches = blobs.get("patches", [])
    if not isinstance(patches, list) or not all(
            isinstance(x, dict) and is_hex(x.get("from_sha256"), 64) and is_hex(x.get("sha256_of_patch"), 64)
            and is_int(x.get("size"), 1, _zlib_bound(_MAX_FILE)) for x in patches):
        raise bad("%s: bad patches" % p)
    return e


def raw_entries(path):
    # The file entries of an envelope as parsed JSON, one line read at a time (the layout is checked,
    # the entries are not: files() does that).
    import json

    size = file_size(path)
    with open(path, "rb") as f:
        first_line(f)
        read_line(f)
        while True:
            line = read_line(f)
            if len(line) > MAX_LINE or not line.endswith(b"\n"):
                raise bad("a manifest line is longer than %d bytes or unterminated" % MAX_LINE)
            if line.startswith(b"]"):
                if f.tell() != size - len(CLOSE) + 1:
                    raise bad("the files list closes before the end of the manifest")
                return
            try:
                entry = json.loads(line[:-2] if line.endswith(b",\n") else line[:-1])
            except ValueError:
                raise bad("a file entry is not valid JSON")
            yield entry


def files(path):
    # The file entries of a verified envelope, one line read at a time, each checked on its own.
    for entry in raw_entries(path):
        yield _check_entry(entry)

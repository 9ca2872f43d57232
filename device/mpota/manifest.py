# The release a board keeps on flash, read one line at a time (docs/protocol.md layout): line 1 holds
# the signatures of a signed envelope (or FIRST: the file list of an unsigned source, filelist.py),
# then the header's first line, one file entry per line, the header's last line. The one reader of
# that layout, apart from envelope.py (the signature and header checks) so that an install, which
# only reads the entries of releases verified before, does not hold the verifier in RAM.
from micropython import const

from mpota.errors import UpdateError

MAX_LINE = const(4096)
_PIECE = const(256)  # lines are read this much at a time: a typical line is one allocation this size
_MAX_FILE = const(16777216)  # 16 MiB per file
OPEN = b'{"signatures":'
FIRST = b'{"unsigned":true,"signed":\n'  # line 1 of a file list
SIGNED = b',"signed":\n'
CLOSE = b"\n}\n"


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
    # n lower-case hex digits. The checks here go through bytes, not characters: iterating a str makes
    # each character a name MicroPython interns for good, and names cost RAM that is never freed.
    return isinstance(v, str) and len(v) == n and all(48 <= c <= 57 or 97 <= c <= 102 for c in v.encode())


def is_int(v, lo, hi):
    return type(v) is int and lo <= v <= hi


def path_ok(p):
    # A release path: relative, /-separated, no empty/./.. segment, no \ or control characters,
    # at most 255 bytes.
    if not isinstance(p, str) or not p or len(p.encode()) > 255 or "\\" in p:
        return False
    for c in p.encode():
        if c < 32 or c == 127:
            return False
    for part in p.split("/"):
        if part in ("", ".", ".."):
            return False
    return True


def read_line(f):
    # The next line of f with its line break, _PIECE bytes at a time: only a line longer than that
    # (rare: several signatures, many patches) is gathered, up to MAX_LINE + 1 bytes, in a bytearray.
    line = f.readline(_PIECE)
    if len(line) < _PIECE or line[-1] == 10:
        return line
    long = bytearray(line)
    while len(long) <= MAX_LINE:
        piece = f.readline(_PIECE)
        long.extend(piece)
        if len(piece) < _PIECE or piece[-1] == 10:
            break
    return bytes(long)


def is_list(path):
    # Whether `path` holds a file list (filelist.py) rather than a signed envelope.
    try:
        with open(path, "rb") as f:
            return f.readline(64) == FIRST
    except OSError:
        return False


def _skip_first(f):
    # Past line 1 of a signed envelope or a file list (checked as that; the signatures are not parsed).
    line = read_line(f)
    if line != FIRST and not (line.startswith(OPEN) and line.endswith(SIGNED)):
        raise bad("not a signed envelope (docs/protocol.md layout)")


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


def header_lines(path):
    # -> (first line of the manifest, its last line), both without their line break.
    size = file_size(path)
    with open(path, "rb") as f:
        _skip_first(f)
        first = read_line(f)
        # The last line, read from the end in growing steps (it is short unless the header is long).
        most = min(size, MAX_LINE + 1 + len(CLOSE))
        back = min(size, _PIECE)
        while True:
            f.seek(size - back)
            last = f.read(back)[:-len(CLOSE)]
            at = last.rfind(b"\n")
            if at >= 0 or back == most:
                break
            back = min(most, back * 4)
    if not first.endswith(b'"files":[\n') or len(first) > MAX_LINE:
        raise bad("the manifest header does not open the files list on its first line")
    last = last[at + 1:]
    if not last.startswith(b"]") or len(last) >= MAX_LINE:
        raise bad("the manifest does not close the files list on its last line")
    return first[:-1], last


def raw_entries(path):
    # The file entries of an envelope or a file list as parsed JSON, one line read at a time (the
    # layout is checked, the entries are not: files() does that).
    import json

    size = file_size(path)
    with open(path, "rb") as f:
        _skip_first(f)
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


def entries(path):
    # The entries of a signed envelope (each checked) or of a file list (checked when it was written),
    # whichever `path` holds; none when it is missing.
    try:
        file_size(path)
    except OSError:
        return  # a slot set up without a release
    yield from (raw_entries(path) if is_list(path) else files(path))


def hash_key(entry):
    # What a file is checked against: sha256 when the entry has one (signed releases; micropython_ota
    # files, hashed as they came), else its Git blob SHA-1.
    return "sha256" if "sha256" in entry else "git_sha1"


def hasher(entry):
    if hash_key(entry) == "git_sha1":
        from mpota import sha1

        return sha1.git_blob(entry["size"])
    import hashlib

    return hashlib.sha256()


def hexdigest(h):
    import binascii

    return binascii.hexlify(h.digest()).decode()


def matches(entry, n, digest):
    # Whether a file of n bytes whose hasher(entry) digest is `digest` (hex) is the file the entry names.
    return n == entry["size"] and digest == entry[hash_key(entry)]

# Update packs (docs/protocol.md, "Update packs"): all a board one release behind downloads for the next
# one, in one request: <base>/packs/<from16>-<to16>.pack (the
# first 16 hex digits of the sha256 of the running envelope and of the new one).
# The pack is downloaded to flash (envpatch.download, beside the envelope's own patch: a board that
# finds no pack loads no pack.py), then split into TMP: its envelope record (e: Fossil, h: copy-hex, in a
# check answer) becomes the envelope's patch that envpatch.rebuild applies, each file's record
# TMP/<first 16 hex of the file's sha256>.<kind>
# (z: the whole zlib blob; f, b: a Fossil or bsdiff-seq patch from the running slot's file at the same
# path), where install.py looks for them (unpack.py). Nothing in a pack is trusted: the envelope it rebuilds must
# have the pointer's size and sha256 and a valid signature, each file the size and sha256 of its signed
# entry. A missing or damaged pack only costs the downloads it saves: the caller falls back to them.
# Each step is a phase of its own (fetch._patched), so that the download's modules are gone before the split.
# A pack whose envelope record does not rebuild the envelope leaves its file records: they are checked
# like any download, and save what they can.
from micropython import const

from mpota.errors import flash_fault
from mpota.source import PACKED, TMP

MAX_RECORDS = const(10001)  # the envelope's and one per file (src/delta/pack.ts, MAX_PACK_RECORDS)
_BUF = const(512)  # the split moves any record through it


def _remove(path):
    import os

    try:
        os.remove(path)
    except OSError as e:
        if flash_fault(e):
            raise  # a missing file is fine, a failing flash is not


def _fill(f, view, left):
    # Reads exactly len(view) bytes of the `left` still in the pack; -> what is left then, or -1.
    if len(view) > left:
        return -1
    got = 0
    while got < len(view):
        n = f.readinto(view[got:] if got else view)  # a short read, rare, continues in a slice
        if not n:
            return -1
        got += n
    return left - got


def _length(f, one, left):
    # A record's length: unsigned LEB128, at most 4 bytes. -> (length, left) or (0, -1).
    n = 0
    for i in range(4):
        left = _fill(f, one, left)
        if left < 0:
            break
        n |= (one[0] & 127) << (7 * i)
        if one[0] < 128:
            return n, left
    return 0, -1


def _copy(f, n, out_path, buf):
    # The next n bytes of the pack into the file out_path; False when the pack ends first.
    with open(out_path, "wb") as out:
        while n:
            view = buf if n >= len(buf) else buf[:n]  # a whole buffer as is: no allocation per chunk
            if _fill(f, view, n) < 0:
                return False
            done = out.write(view)
            while done < len(view):
                done += out.write(view[done:])
            n -= len(view)
    return True


def _records(f, left, buf, path, size, sha256):
    # Writes the records (see the header) -> the envelope record's kind, or None at the first sign of a
    # damaged pack (no magic, an envelope record that is not first or not for `sha256`, an unknown kind, a
    # record larger than what is left of the pack or than the envelope, too many records).
    import binascii

    head = buf[:9]
    one = buf[9:10]
    left = _fill(f, buf[:4], left)
    if left < 0 or bytes(buf[:4]) != b"MPK1":
        return None
    count = 0
    first = None
    while left:
        left = _fill(f, head, left)
        if left < 0:
            return None
        kind = chr(head[0])
        key = binascii.hexlify(head[1:]).decode()
        n, left = _length(f, one, left)
        count += 1
        if left < 0 or n < 1 or n > left or count > MAX_RECORDS:
            return None
        if count == 1:
            if kind not in ("e", "h") or key != sha256[:16] or n > size:
                return None
            first = kind
            out = path + ".fz"
        elif kind in ("z", "f", "b"):
            out = "%s/%s.%s" % (TMP, key, kind)
        else:
            return None
        if not _copy(f, n, out, buf[10:]):
            return None
        left -= n
    return first


def split(path, size, sha256):
    # Splits the pack at path + ".pack" into TMP (see the header): -> the encoding of the envelope's patch
    # ("fossil" for e, "copy-hex" for h) once it is at path + ".fz" and each file's record beside it; None
    # for a damaged pack, of which nothing is then left. The pack is removed either way; a flash fault
    # raises.
    import os

    pack = path + ".pack"
    kind = None
    try:
        n = os.stat(pack)[6]
        with open(pack, "rb") as f:
            kind = _records(f, n, memoryview(bytearray(_BUF)), path, size, sha256)
        if kind:
            with open(PACKED, "w") as f:
                f.write(str(n))
    except OSError as e:
        if flash_fault(e):
            raise
    finally:
        _remove(pack)
    if not kind:
        _drop(path)
        return None
    return "copy-hex" if kind == "h" else "fossil"


def _drop(path):
    # Removes what a split of a damaged pack left: the envelope's patch and the files' records.
    import os

    _remove(path + ".fz")
    for entry in list(os.ilistdir(TMP)):
        name = entry[0]
        if len(name) == 18 and name[16] == "." and name[17] in ("z", "f", "b"):
            _remove(TMP + "/" + name)

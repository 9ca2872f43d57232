# Applies a patch (docs/protocol.md, "Patches"): a delta inside a zlib stream with a 2^10 window, in
# one of two encodings, or an envelope's delta in copy-hex, which comes as it is. The old file is read
# with seek(), the new file is written strictly in order and hashed as it is written. RAM: the caller's
# buffer, the 1 KB inflate window and its tables, one byte for the parser; nothing grows with the file
# or with the number of commands.
#
# "fossil": "<size>\n", then "<cnt>@<offset>," (copy cnt bytes of the old file from offset) and
#   "<cnt>:<bytes>" (insert cnt literal bytes), then "<checksum>;"; numbers in base 64 with the digits
#   0-9 A-Z _ a-z ~.
# "bsdiff-seq": <size>, then records <add> <add bytes> <extra> <extra bytes> <seek> until size bytes
#   are made; numbers are LEB128, seek zigzag-signed. Add: old bytes plus these bytes, mod 256.
# "copy-hex" (src/delta/copy-hex.ts): <size>, then commands n * 4 + op until size bytes are made: op 0
#   copies n old bytes, 1 writes the n bytes that follow, 2 writes them as 2n hex digits (0 to 2 move the
#   old file's position on by what they write), 3 moves it by n zigzag-signed; numbers are LEB128.
from micropython import const

from mpota.errors import UpdateError, flash_fault

ENCODINGS = ("fossil", "bsdiff-seq")  # of patches a manifest lists (copy-hex is only an envelope's)
_MAX_DIGITS = const(6)  # 36 bits: sizes and offsets are at most 16 MiB, the Fossil checksum is 32 bits
_MAX_VARINT = const(4)  # 28 bits
_ENOSPC = const(28)


def _bad(why):
    return UpdateError("patch", "the patch does not apply: " + why)


def _digit(c):
    if 48 <= c <= 57:  # 0-9
        return c - 48
    if 65 <= c <= 90:  # A-Z
        return c - 55
    if c == 95:  # _
        return 36
    if 97 <= c <= 122:  # a-z
        return c - 60
    if c == 126:  # ~
        return 63
    return -1


def _number(z, one):
    # Reads a base-64 number of a Fossil delta; the byte that ended it is left in one[0].
    v = 0
    for _ in range(_MAX_DIGITS + 1):
        if not z.readinto(one):
            raise _bad("the delta ends early")
        d = _digit(one[0])
        if d < 0:
            return v
        v = v * 64 + d
    raise _bad("a number is too long")


def _varint(z, one):
    # Reads a LEB128 number of a bsdiff-seq delta.
    v = 0
    shift = 0
    for _ in range(_MAX_VARINT):
        if not z.readinto(one):
            raise _bad("the delta ends early")
        v |= (one[0] & 127) << shift
        if one[0] < 128:
            return v
        shift += 7
    raise _bad("a number is too long")


def _views(buf):
    # Views of the buffer's first 1, 2, 4, ... bytes, made once: any count is moved through them
    # without a new slice per command (so the heap does not grow with the number of commands).
    views = []
    size = 1
    while size <= len(buf):
        views.append(buf[:size])
        size *= 2
    return views


def _fill(src, part, what):
    # Fills `part` from src (a short read, rare, continues in a slice).
    n = src.readinto(part)
    if not n:
        raise _bad(what)
    if n < len(part):
        _fill(src, part[n:], what)


def _emit(out, h, part):
    if out.write(part) != len(part):
        raise OSError(_ENOSPC)
    h.update(part)


def _pass(src, cnt, out, h, views, what):
    # Moves cnt bytes from src (the old file or the delta) to the new file and the hash, in pieces of
    # the largest view that fits.
    k = len(views) - 1
    while cnt:
        while len(views[k]) > cnt:
            k -= 1
        _fill(src, views[k], what)
        _emit(out, h, views[k])
        cnt -= len(views[k])


def _add(old, z, cnt, out, h, views, more):
    # Writes cnt bytes of the old file plus the delta's bytes (mod 256): old bytes in one half of the
    # buffer, delta bytes in the other (`more`, views of the same sizes).
    k = len(views) - 1
    while cnt:
        while len(views[k]) > cnt:
            k -= 1
        a = views[k]
        b = more[k]
        _fill(old, a, "an add reads past the end of the old file")
        _fill(z, b, "the delta ends inside an add")
        for i in range(len(a)):
            a[i] = (a[i] + b[i]) & 255
        _emit(out, h, a)
        cnt -= len(a)


def _moved(pos, seek):
    # The old file's position after a zigzag-signed move (0, -1, 1, -2, ...); never before its start.
    pos += -((seek + 1) >> 1) if seek & 1 else seek >> 1
    if pos < 0:
        raise _bad("it seeks before the start of the old file")
    return pos


def _grow(total, cnt, size):
    total += cnt
    if total > size:
        raise _bad("it makes a file larger than %d bytes" % size)
    return total


def _fossil(old, z, out, size, h, buf, one):
    views = _views(buf)
    if _number(z, one) != size or one[0] != 10:  # "<size>\n"
        raise _bad("it makes a file of another size")
    total = 0
    while True:
        cnt = _number(z, one)
        op = one[0]
        if op == 59:  # ";" after the checksum: SHA-256 of the result is checked instead
            break
        total = _grow(total, cnt, size)
        if op == 64:  # "@": copy from the old file
            ofs = _number(z, one)
            if one[0] != 44:  # ","
                raise _bad("a copy command does not end with ','")
            old.seek(ofs)
            _pass(old, cnt, out, h, views, "it copies past the end of the old file")
        elif op == 58:  # ":": literal bytes
            _pass(z, cnt, out, h, views, "the delta ends inside an insert")
        else:
            raise _bad("unknown command %r" % chr(op))
    if total != size:
        raise _bad("it makes %d bytes, not %d" % (total, size))


def _bsdiff(old, z, out, size, h, buf, one):
    half = len(buf) // 2
    views = _views(buf[:half])
    more = _views(buf[half:])
    if _varint(z, one) != size:
        raise _bad("it makes a file of another size")
    total = 0
    pos = 0
    while total < size:
        cnt = _varint(z, one)  # add
        total = _grow(total, cnt, size)
        old.seek(pos)
        _add(old, z, cnt, out, h, views, more)
        pos += cnt
        cnt = _varint(z, one)  # extra
        total = _grow(total, cnt, size)
        _pass(z, cnt, out, h, views, "the delta ends inside an extra")
        pos = _moved(pos, _varint(z, one))


def _copyhex(old, z, out, size, h, buf, one):
    import binascii

    views = _views(buf)
    if _varint(z, one) != size:
        raise _bad("it makes a file of another size")
    total = 0
    pos = 0
    while total < size:
        cnt = _varint(z, one)
        op = cnt & 3
        cnt >>= 2
        if op == 3:
            pos = _moved(pos, cnt)
            continue
        n = cnt * 2 if op == 2 else cnt
        total = _grow(total, n, size)
        if op == 0:
            old.seek(pos)
            _pass(old, cnt, out, h, views, "it copies past the end of the old file")
        elif op == 1:
            _pass(z, cnt, out, h, views, "the delta ends inside an insert")
        else:
            k = min(6, len(views) - 1)  # at most 64 bytes (128 digits) at a time
            while cnt:
                while len(views[k]) > cnt:
                    k -= 1
                _fill(z, views[k], "the delta ends inside an insert")
                _emit(out, h, binascii.hexlify(views[k]))
                cnt -= len(views[k])
        pos += n


def _run(old, raw, out, size, h, buf, encoding):
    one = bytearray(1)
    z = raw  # copy-hex comes as it is: its hex is bytes already, and the rest would not shrink
    if encoding != "copy-hex":
        import deflate

        # zlib's first byte: method 8 and the window; a wider window than 2^10 could refer past ours
        if not raw.readinto(one) or one[0] & 15 != 8 or one[0] >> 4 > 2:
            raise _bad("it is not a zlib stream with a window of at most 1 KB")
        raw.seek(0)
        z = deflate.DeflateIO(raw, deflate.ZLIB, 10)
    (_bsdiff if encoding == "bsdiff-seq" else _copyhex if encoding == "copy-hex" else _fossil)(
        old, z, out, size, h, buf, one)
    if z.readinto(one):
        raise _bad("bytes follow the end of the delta")


def apply(old_path, patch_path, new_path, size, sha256, buf, encoding="fossil"):
    # Writes new_path from old_path and the patch at patch_path; the result must have `size` bytes and
    # SHA-256 `sha256` (hex). `buf` is the caller's memoryview. Raises UpdateError("patch", ...) for an
    # unknown encoding, a damaged patch, a wrong base or a wrong result (the caller then fetches the
    # whole file); a flash fault (EIO) or a full flash (ENOSPC) is raised as the OSError it is. new_path
    # may be left partial.
    import binascii
    import hashlib

    if encoding not in ENCODINGS and encoding != "copy-hex":
        raise _bad("unknown encoding %s" % encoding)
    h = hashlib.sha256()
    try:
        with open(old_path, "rb") as old, open(patch_path, "rb") as raw, open(new_path, "wb") as out:
            _run(old, raw, out, size, h, buf, encoding)
    except (OSError, ValueError, EOFError) as e:
        if flash_fault(e):
            raise
        raise _bad("%s: %s" % (type(e).__name__, e))  # a damaged zlib stream or a missing old file
    digest = binascii.hexlify(h.digest()).decode()
    if digest != sha256:
        raise _bad("the result has sha256 %s, not %s" % (digest, sha256))

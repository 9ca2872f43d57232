# A check answer with an update pack (docs/protocol.md, "Check answers"): channels/<channel>.up is the
# channel pointer, then, when the source has one, the first 8 bytes of the sha256 of the envelope an
# update pack starts from and that pack. The pointer comes into RAM as ever: a signed one is its JSON (up
# to the line "}"), an unsigned one the line "<version> <size>" and the 32 bytes of its sha256. The pack
# goes to /.mpota/next/<from16>.pack, where the update that follows takes it instead of downloading it
# (envpatch.download). Whatever an earlier answer left there goes first. Nothing of it is trusted: the
# pack is checked as a downloaded one is, and a board short of flash lets it pass. Few names (a private
# const, no globals): each name an update interns is kept, and past about 630 of them MicroPython
# allocates 4.5 KB more at once (docs/device.md, RAM).
from micropython import const

from mpota.errors import UpdateError

_MAX_PACK = const(8192)  # the largest pack an answer carries (src/rules/limits.ts, MAX_ATTACHED_PACK)


def read(r, head, cap, body):
    # The answer's body from the reader `r`: the pointer (at most `cap` bytes) into the bytearray `body`.
    import binascii
    import os

    from mpota.body import read_body
    from mpota.source import drop_downloads, free_bytes

    drop_downloads("/.mpota/next")
    keep = free_bytes() // 2 >= _MAX_PACK
    st = [False, b"", None]  # the pointer has ended; the pack's first 8 bytes (its origin); its file

    def sink(view):
        i = 0
        if not st[0]:
            data = bytes(view)
            while not st[0] and i < len(data):
                nl = body.find(b"\n")  # where the unsigned pointer's line ends, once it has
                if body[:1] != b"{" and nl >= 0:
                    j = i + nl + 33 - len(body)  # the rest of the sha256 after the line
                else:
                    j = data.find(b"\n", i) + 1 or len(data)  # the rest of the line
                body.extend(data[i:j])
                if len(body) > cap:
                    raise UpdateError("size", "the channel pointer is larger than %d bytes" % cap)
                i = j
                nl = body.find(b"\n")
                st[0] = body[-3:] == b"\n}\n" if body[:1] == b"{" else 0 <= nl == len(body) - 33
        if st[2] is None and i < len(view):
            need = 8 - len(st[1])
            st[1] += bytes(view[i:i + need])
            i += need
            if len(st[1]) < 8:
                return
            if keep:
                try:
                    os.mkdir("/.mpota/next")
                except OSError:
                    pass  # already there
                st[2] = open("/.mpota/next/" + binascii.hexlify(st[1]).decode() + ".pack", "wb")
            else:
                st[2] = False  # not kept: the update downloads its pack
        if st[2] and i < len(view):
            view = view[i:]
            done = st[2].write(view)
            while done < len(view):
                done += st[2].write(view[done:])

    try:
        read_body(r, head, cap + 8 + _MAX_PACK, sink)
    finally:
        if st[2]:
            st[2].close()

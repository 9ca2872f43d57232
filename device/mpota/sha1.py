# Git blob SHA-1 for files from git sources: sha1(b"blob <size>\0" + data), fed in pieces as a file
# streams. hashlib.sha1 when the port has it; else a small pure-Python SHA-1 (the WebAssembly port and
# some boards build hashlib without it). Used only to check files against their Git blob SHA-1; the
# security of signed releases rests on sha256 and Ed25519, not on this.
from micropython import const

_MASK = const(0xFFFFFFFF)


class _Sha1:
    # The hashlib interface (update, digest) in pure Python; keeps one partial 64-byte block.
    def __init__(self):
        self._h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
        self._tail = b""
        self._n = 0

    def _block(self, data, at):
        # One 64-byte block: four 20-round loops (no branch per round), the schedule expanded first.
        import struct

        m = _MASK
        w = list(struct.unpack_from(">16I", data, at))
        for i in range(16, 80):
            x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
            w.append(((x << 1) | (x >> 31)) & m)
        h = self._h
        a, b, c, d, e = h
        for i in range(0, 20):
            t = ((((a << 5) | (a >> 27)) & m) + ((b & c) | (~b & d)) + e + 0x5A827999 + w[i]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, t
        for i in range(20, 40):
            t = ((((a << 5) | (a >> 27)) & m) + (b ^ c ^ d) + e + 0x6ED9EBA1 + w[i]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, t
        for i in range(40, 60):
            t = ((((a << 5) | (a >> 27)) & m) + ((b & c) | (b & d) | (c & d)) + e + 0x8F1BBCDC + w[i]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, t
        for i in range(60, 80):
            t = ((((a << 5) | (a >> 27)) & m) + (b ^ c ^ d) + e + 0xCA62C1D6 + w[i]) & m
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & m, a, t
        h[0] = (h[0] + a) & m
        h[1] = (h[1] + b) & m
        h[2] = (h[2] + c) & m
        h[3] = (h[3] + d) & m
        h[4] = (h[4] + e) & m

    def update(self, data):
        self._n += len(data)
        if self._tail:
            need = 64 - len(self._tail)
            self._tail += bytes(data[:need])
            data = data[need:]
            if len(self._tail) < 64:
                return
            self._block(self._tail, 0)
            self._tail = b""
        full = len(data) - len(data) % 64
        for at in range(0, full, 64):
            self._block(data, at)
        if full < len(data):
            self._tail = bytes(data[full:])

    def digest(self):
        import struct

        n = self._n
        tail = self._tail
        save = (list(self._h), tail, n)
        pad = b"\x80" + b"\x00" * ((55 - n) % 64) + struct.pack(">Q", n * 8)
        self.update(pad)
        out = struct.pack(">5I", *self._h)
        self._h, self._tail, self._n = save  # digest() leaves the hash usable, as hashlib's does
        return out


def new():
    # A SHA-1 hasher: the port's own when it has one.
    import hashlib

    if hasattr(hashlib, "sha1"):
        return hashlib.sha1()
    return _Sha1()


def git_blob(size):
    # A hasher already fed with git's blob header: update() it with the file's `size` bytes.
    h = new()
    h.update(("blob %d\x00" % size).encode())
    return h

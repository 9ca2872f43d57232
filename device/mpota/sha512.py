# SHA-512 (FIPS 180-4) in plain MicroPython, for ports whose hashlib has no sha512 (the WebAssembly
# port, many small boards). Only Ed25519 needs it: one hash per signature check. Same interface as a
# hashlib object: sha512(data=b"") with update(data) and digest().
# 64-bit words are Python ints; a rotation is a shift of the word doubled to 128 bits (x | x << 64).
# The bits left above bit 63 never carry down, so each new word is masked once, after its sum.
from micropython import const

_M = const(0xFFFFFFFFFFFFFFFF)

_K = (
    0x428A2F98D728AE22, 0x7137449123EF65CD, 0xB5C0FBCFEC4D3B2F, 0xE9B5DBA58189DBBC, 0x3956C25BF348B538,
    0x59F111F1B605D019, 0x923F82A4AF194F9B, 0xAB1C5ED5DA6D8118, 0xD807AA98A3030242, 0x12835B0145706FBE,
    0x243185BE4EE4B28C, 0x550C7DC3D5FFB4E2, 0x72BE5D74F27B896F, 0x80DEB1FE3B1696B1, 0x9BDC06A725C71235,
    0xC19BF174CF692694, 0xE49B69C19EF14AD2, 0xEFBE4786384F25E3, 0x0FC19DC68B8CD5B5, 0x240CA1CC77AC9C65,
    0x2DE92C6F592B0275, 0x4A7484AA6EA6E483, 0x5CB0A9DCBD41FBD4, 0x76F988DA831153B5, 0x983E5152EE66DFAB,
    0xA831C66D2DB43210, 0xB00327C898FB213F, 0xBF597FC7BEEF0EE4, 0xC6E00BF33DA88FC2, 0xD5A79147930AA725,
    0x06CA6351E003826F, 0x142929670A0E6E70, 0x27B70A8546D22FFC, 0x2E1B21385C26C926, 0x4D2C6DFC5AC42AED,
    0x53380D139D95B3DF, 0x650A73548BAF63DE, 0x766A0ABB3C77B2A8, 0x81C2C92E47EDAEE6, 0x92722C851482353B,
    0xA2BFE8A14CF10364, 0xA81A664BBC423001, 0xC24B8B70D0F89791, 0xC76C51A30654BE30, 0xD192E819D6EF5218,
    0xD69906245565A910, 0xF40E35855771202A, 0x106AA07032BBD1B8, 0x19A4C116B8D2D0C8, 0x1E376C085141AB53,
    0x2748774CDF8EEB99, 0x34B0BCB5E19B48A8, 0x391C0CB3C5C95A63, 0x4ED8AA4AE3418ACB, 0x5B9CCA4F7763E373,
    0x682E6FF3D6B2B8A3, 0x748F82EE5DEFB2FC, 0x78A5636F43172F60, 0x84C87814A1F0AB72, 0x8CC702081A6439EC,
    0x90BEFFFA23631E28, 0xA4506CEBDE82BDE9, 0xBEF9A3F7B2C67915, 0xC67178F2E372532B, 0xCA273ECEEA26619C,
    0xD186B8C721C0C207, 0xEADA7DD6CDE0EB1E, 0xF57D4F7FEE6ED178, 0x06F067AA72176FBA, 0x0A637DC5A2C898A6,
    0x113F9804BEF90DAE, 0x1B710B35131C471B, 0x28DB77F523047D84, 0x32CAAB7B40C72493, 0x3C9EBE0A15C9BEBC,
    0x431D67C49C100D4C, 0x4CC5D4BECB3E42B6, 0x597F299CFC657E2A, 0x5FCB6FAB3AD6FAEC, 0x6C44198C4A475817,
)

_H0 = (
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
)


def _compress(h, block, w):
    # One 128-byte block into the state list h; w is a reused list of 80 words.
    import struct

    w[0:16] = struct.unpack(">16Q", block)
    for t in range(16, 80):
        x = w[t - 15]
        y = w[t - 2]
        xx = x | (x << 64)
        yy = y | (y << 64)
        w[t] = (w[t - 16] + ((xx >> 1) ^ (xx >> 8) ^ (x >> 7)) + w[t - 7]
                + ((yy >> 19) ^ (yy >> 61) ^ (y >> 6))) & _M
    a, b, c, d, e, f, g, hh = h
    k = _K
    for t in range(80):
        ee = e | (e << 64)
        aa = a | (a << 64)
        t1 = hh + ((ee >> 14) ^ (ee >> 18) ^ (ee >> 41)) + (g ^ (e & (f ^ g))) + k[t] + w[t]
        t2 = ((aa >> 28) ^ (aa >> 34) ^ (aa >> 39)) + ((a & b) | (c & (a | b)))
        hh = g
        g = f
        f = e
        e = (d + t1) & _M
        d = c
        c = b
        b = a
        a = (t1 + t2) & _M
    for i, v in enumerate((a, b, c, d, e, f, g, hh)):
        h[i] = (h[i] + v) & _M


class sha512:
    # The hashlib interface (a class, as hashlib's are: Ed25519 code takes either).
    def __init__(self, data=b""):
        self._h = list(_H0)
        self._buf = bytearray(128)
        self._fill = 0  # bytes waiting in _buf
        self._len = 0  # bytes hashed so far
        self._w = [0] * 80
        if data:
            self.update(data)

    def update(self, data):
        data = memoryview(data)
        n = len(data)
        self._len += n
        i = 0
        buf = self._buf
        if self._fill:
            take = min(128 - self._fill, n)
            buf[self._fill:self._fill + take] = data[:take]
            self._fill += take
            i = take
            if self._fill < 128:
                return
            _compress(self._h, buf, self._w)
            self._fill = 0
        while n - i >= 128:
            _compress(self._h, data[i:i + 128], self._w)
            i += 128
        if i < n:
            buf[0:n - i] = data[i:]
            self._fill = n - i

    def digest(self):
        import struct

        h = list(self._h)
        buf = bytearray(self._buf)
        fill = self._fill
        buf[fill] = 0x80
        for i in range(fill + 1, 128):
            buf[i] = 0
        if fill >= 112:
            _compress(h, buf, self._w)
            for i in range(128):
                buf[i] = 0
        buf[112:128] = struct.pack(">QQ", 0, self._len * 8)
        _compress(h, buf, self._w)
        return struct.pack(">8Q", *h)


def new(data=b""):
    # hashlib.sha512 where the port has it, else this module.
    try:
        from hashlib import sha512 as native
    except ImportError:
        return sha512(data)
    return native(data)

# Ed25519 signature verification (RFC 8032, pure) in plain MicroPython big-int arithmetic.
# A signature check is: k = SHA-512(R || A || M) mod L, then [S]B - [k]A must encode to R.
# The message is streamed: start(pub, sig) gives a SHA-512 already fed R || A, the caller feeds M
# through update(), finish(pub, sig, hasher) does the curve arithmetic once.
# Points in extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, x*y = T/Z; one joint
# double-and-add over the bits of both scalars (253 doublings, about 190 additions) with a table of
# three points: a few hundred bytes of live numbers, so it runs in a small heap.
from micropython import const

import mpota

_P = const(0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED)  # 2^255 - 19
_L = const(0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED)  # group order
_D = const(0x52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3)  # -121665/121666
_D2 = const(0x2406D9DC56DFFCE7198E80F2EEF3D13000E0149A8283B156EBD69B9426B2F159)  # 2d
_SQRT_M1 = const(0x2B8324804FC1DF0B2B4D00993DFBD7A72F431806AD2FE478C4EE1B274A0EA0B0)  # sqrt(-1)

_BX = const(0x216936D3CD6E53FEC0A4E231FDD6DC5C692CC7609525A7B2C9562D608F25D51A)  # the base point B
_BY = const(0x6666666666666666666666666666666666666666666666666666666666666658)


def _cached(p):
    # A point in the form additions take: (Y - X, Y + X, 2dT, 2Z).
    x, y, z, t = p
    return ((y - x) % _P, (y + x) % _P, _D2 * t % _P, 2 * z % _P)


def _add(p, q):
    # p (extended) + q (cached): "add-2008-hwcd-3" for a = -1.
    x1, y1, z1, t1 = p
    ymx, ypx, t2d, z2 = q
    a = (y1 - x1) * ymx % _P
    b = (y1 + x1) * ypx % _P
    c = t1 * t2d % _P
    d = z1 * z2 % _P
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _double(p):
    # "dbl-2008-hwcd" for a = -1.
    x1, y1, z1, _ = p
    a = x1 * x1 % _P
    b = y1 * y1 % _P
    c = 2 * z1 * z1 % _P
    h = a + b
    s = x1 + y1
    e = h - s * s % _P
    g = a - b
    f = c + g
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _decode(s):
    # 32 bytes -> point (extended), or None when they are not a point of the curve.
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    yy = y * y % _P
    u = (yy - 1) % _P
    v = (_D * yy + 1) % _P
    v3 = v * v * v % _P
    x = u * v3 * pow(u * v3 * v3 * v % _P, (_P - 5) // 8, _P) % _P
    vxx = v * x * x % _P
    if vxx != u:
        if vxx != (-u) % _P:
            return None
        x = x * _SQRT_M1 % _P
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, x * y % _P)


def _encode_int(p):
    # A point as the little-endian integer of its 32-byte encoding.
    x, y, z, _ = p
    zi = pow(z, _P - 2, _P)
    x = x * zi % _P
    y = y * zi % _P
    return y | ((x & 1) << 255)


def start(pub, sig):
    # -> a SHA-512 fed R || A: feed it the message, then call finish(). None if sig is malformed.
    if len(pub) != 32 or len(sig) != 64:
        return None
    from mpota.sha512 import new

    h = new()
    h.update(sig[:32])
    h.update(pub)
    return h


def finish(pub, sig, h):
    # True when sig is a valid signature by pub of the message fed to h (from start()).
    s = int.from_bytes(sig[32:], "little")
    if s >= _L:
        return False  # not the canonical S: refused, as RFC 8032 says
    a = _decode(pub)
    if a is None:
        return False
    k = int.from_bytes(h.digest(), "little") % _L
    # [S]B + [k](-A), one bit of both scalars per doubling (Straus): a table of three points, so the
    # check needs little RAM (S and k are below L < 2^253).
    neg_a = ((_P - a[0]) % _P, a[1], 1, (_P - a[3]) % _P)
    b = (_BX, _BY, 1, _BX * _BY % _P)
    cached_a = _cached(neg_a)
    table = (None, _cached(b), cached_a, _cached(_add(b, cached_a)))
    r = (0, 1, 1, 0)
    for i in range(252, -1, -1):
        if mpota.step:  # seconds on a board: the update watchdog is fed (mpota/steps.py)
            mpota.step(0)
        r = _double(r)
        j = (s >> i & 1) | (k >> i & 1) << 1
        if j:
            r = _add(r, table[j])
    return _encode_int(r) == int.from_bytes(sig[:32], "little")


def verify(pub, sig, msg):
    # One-shot check of a message held in RAM (small things such as a channel pointer).
    h = start(pub, sig)
    if h is None:
        return False
    h.update(msg)
    return finish(pub, sig, h)

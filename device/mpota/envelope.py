# Signed envelopes (docs/protocol.md): a release manifest kept on flash, or a channel pointer in RAM.
# Layout: line 1 is {"signatures":[…],"signed":  then the canonical signed bytes, then \n}\n.
# The signature is checked first, in one streaming pass over the signed bytes, before anything in
# them is parsed; then the manifest is read one line at a time (the header from its first and last
# lines, one file entry per line in between: manifest.py), never whole.
from micropython import const

from mpota.errors import UpdateError
from mpota.manifest import (CLOSE, bad, file_size, files, first_line, header_lines, is_hex, is_int, path_ok,
                            raw_entries, shown)

_MAX_CANDIDATES = const(4)  # signatures by trusted keys tried in the one pass
_MAX_FILES = const(10000)
_ROUND = const(1024)  # lower-cased paths one pass of the tree check compares (as small ints in sets)
_MAX_ROLLBACK_FROM = const(16)  # releases a rollback release may name as the ones it replaces


def keyid(pub):
    # First 16 hex characters of SHA-256 of the raw 32-byte public key.
    import binascii
    import hashlib

    return binascii.hexlify(hashlib.sha256(pub).digest())[:16].decode()


def _candidates(sigs, keys_hex):
    # (public key, signature) pairs whose key this board trusts.
    import binascii

    out = []
    for k in keys_hex:
        pub = binascii.unhexlify(k)
        kid = keyid(pub)
        for s in sigs:
            if s["keyid"] == kid and len(out) < _MAX_CANDIDATES:
                out.append((pub, binascii.unhexlify(s["sig"])))
    return out


def _check_signature(f, size, keys_hex, what):
    # Verifies that the envelope in stream f (size bytes) carries a valid signature by one of keys_hex.
    # -> the offset of the signed bytes.
    from mpota import ed25519

    sigs, start = first_line(f)
    if not sigs:
        raise UpdateError("signature", "%s is not signed" % what)
    pairs = _candidates(sigs, keys_hex)
    if not pairs:
        raise UpdateError("signature", "%s is signed by key %s, which this board does not trust"
                          % (what, ", ".join(s["keyid"] for s in sigs)))
    length = size - start - len(CLOSE)
    if length < 2:
        raise bad("%s is truncated" % what)
    hashers = [ed25519.start(pub, sig) for pub, sig in pairs]
    buf = memoryview(bytearray(512))
    left = length
    while left:
        n = f.readinto(buf[:min(left, 512)])
        if not n:
            raise bad("%s is truncated" % what)
        for h in hashers:
            h.update(buf[:n])
        left -= n
    if f.read(4) != CLOSE:
        raise bad("%s does not end the way docs/protocol.md says" % what)
    if not any(ed25519.finish(pub, sig, h) for (pub, sig), h in zip(pairs, hashers)):
        raise UpdateError("signature", "%s: the signature does not match (tampered, or the wrong key)" % what)
    return start


def _check_header(h):
    from mpota.version import is_name, is_version

    if not isinstance(h, dict) or h.get("format") != 1:
        raise bad("unknown manifest format %s" % (shown(h.get("format")) if isinstance(h, dict) else "(none)"))
    if h.get("files") != []:
        raise bad("the header holds file entries")
    if not is_name(h.get("project")):
        raise bad("bad project name")
    if not is_version(h.get("version")):
        raise bad("bad version %s" % shown(h.get("version")))
    if not isinstance(h.get("created"), str):
        raise bad("bad created date")
    if type(h.get("rollback", False)) is not bool:
        raise bad("rollback must be true or false")
    back = h.get("rollback_from", [])
    if not isinstance(back, list) or len(back) > _MAX_ROLLBACK_FROM or (back and h.get("rollback") is not True) \
            or not all(is_version(v) for v in back):
        raise bad("bad rollback_from")
    if not is_int(h.get("min_loader", 0), 0, 1000000):
        raise bad("bad min_loader")
    hooks = h.get("hooks", {})
    if not isinstance(hooks, dict) or any(k not in ("post_update", "rollback") or not path_ok(v)
                                          for k, v in hooks.items()):
        raise bad("bad hooks")
    del h["files"]
    return h


def header(path):
    # The manifest without its file entries: project, version, created, rollback, hooks, min_loader.
    # Read from the envelope's first and last lines only.
    import json

    first, last = header_lines(path)
    try:
        h = json.loads(first + last)
    except ValueError:
        raise bad("the manifest header is not valid JSON")
    return _check_header(h)


def _key(name):
    # 30 bits of the CRC-32 of a lower-cased path: a small int (no allocation to keep it), and equal for
    # two different paths about once in a billion pairs.
    import binascii

    return binascii.crc32(name.encode()) & 0x3FFFFFFF


def _new_folders(p, prev):
    # The folders of path p (lower-cased) that the previous path in sorted order is not in: in sorted
    # order the files of a folder are next to each other, so each folder comes once per spelling.
    parts = p.split("/")
    for i in range(1, len(parts)):
        folder = "/".join(parts[:i])
        if prev is None or not prev.startswith(folder + "/"):
            yield folder.lower()


def _case_twins(path, lower):
    # How many files of the manifest have `lower` as their lower-cased path.
    n = 0
    for e in raw_entries(path):
        n += e["path"].lower() == lower
    return n


def _is_folder(path, lower):
    # Whether a file of the manifest lies below the folder `lower` (any case).
    lower += "/"
    for e in raw_entries(path):
        if e["path"].lower().startswith(lower):
            return True
    return False


def _check_tree(path):
    # Across entries: sorted and unique paths (so no duplicates), no two differing only in case, no
    # path that is a file and a folder; count within limits. Linear in the manifest, in bounded RAM:
    # the first pass checks order and counts files and folders; then each of `rounds` passes keeps the
    # keys (_key) of the lower-cased paths of one share of them, at most about _ROUND, and compares
    # them. Two equal keys are rare and confirmed by one more pass (_case_twins, _is_folder).
    prev = None
    count = 0
    folders = 0
    for e in files(path):
        p = e["path"]
        if prev is not None and p <= prev:
            raise bad("%s: paths must be unique and sorted" % p)
        count += 1
        if count > _MAX_FILES:
            raise bad("more than %d files" % _MAX_FILES)
        for _ in _new_folders(p, prev):
            folders += 1
        prev = p
    rounds = (count + folders) // _ROUND + 1
    for share in range(rounds):
        seen_files = set()
        seen_folders = set()
        prev = None
        for e in raw_entries(path):
            p = e["path"]
            lower = p.lower()
            k = _key(lower)
            if k % rounds == share:
                if k in seen_files and _case_twins(path, lower) > 1:
                    raise bad("%s: another path differs from it only in case" % p)
                if k in seen_folders and _is_folder(path, lower):
                    raise bad("%s: it is also the name of a folder" % p)
                seen_files.add(k)
            for folder in _new_folders(p, prev):
                k = _key(folder)
                if k % rounds == share:
                    if k in seen_files and _case_twins(path, folder):
                        raise bad("%s: its folder %s is also a file" % (p, folder))
                    seen_folders.add(k)
            prev = p


def verify(path, keys_hex, project=None):
    # Checks the envelope at `path` (on flash): a valid signature by one of keys_hex (64-hex public
    # keys), the layout, the header, every file entry. -> the header. Raises UpdateError.
    import sys

    from mpota import _drop

    size = file_size(path)
    with open(path, "rb") as f:
        _check_signature(f, size, keys_hex, "the release")
    # The curve and hash code (5 KB) go before the checks of the entries, which need the room.
    _drop([n[6:] for n in sys.modules if n[6:] not in ("ed25519", "sha512")])
    h = header(path)
    if project is not None and h["project"] != project:
        raise UpdateError("project", "the release is for project %s, this board runs %s" % (h["project"], project))
    _check_tree(path)
    return h


def pointer(data, keys_hex, project, channel=None, signed_only=False):
    # A channel pointer (bytes in RAM) -> its signed object. A pointer carrying signatures must carry
    # a valid one by a trusted key; an unsigned pointer only says where to look (the release it names
    # is verified on its own), unless `signed_only` (the config's signed_pointer) refuses it, and may
    # leave out project, channel and release (releases/<version>.json), as check answers do. Either is
    # refused once its `expires` has passed, or when it names another channel than `channel` (a
    # signed pointer of another channel replayed here).
    import io
    import json

    from mpota.version import is_version

    f = io.BytesIO(data)
    line = data[:1] != b"{"  # a check answer's unsigned pointer: "<version> <size>\n", its sha256's 32 bytes
    sigs, start = (None, 0) if line else first_line(f)
    if not sigs and signed_only:
        raise UpdateError("signature", "the channel pointer is not signed, and this board takes signed ones only "
                          "(signed_pointer)")
    if sigs:
        f.seek(0)
        _check_signature(f, len(data), keys_hex, "the channel pointer")
    elif line:
        import binascii

        try:
            v, n = bytes(data[:-32]).decode().split()
            if data[-33:-32] != b"\n":
                raise ValueError
            p = {"version": v, "size": int(n), "sha256": binascii.hexlify(data[-32:]).decode()}
        except ValueError:
            raise bad("malformed channel pointer")
    elif data[-len(CLOSE):] != CLOSE:
        raise bad("the channel pointer does not end the way docs/protocol.md says")
    if not line:
        try:
            p = json.loads(data[start:-len(CLOSE)])
        except ValueError:
            raise bad("the channel pointer is not valid JSON")
    if not sigs and isinstance(p, dict) and is_version(p.get("version")):
        # A check answer's unsigned pointer leaves out what the board knows (docs/protocol.md).
        p.setdefault("project", project)
        p.setdefault("channel", channel)
        p.setdefault("release", "releases/%s.json" % p["version"])
    if not isinstance(p, dict) or p.get("project") != project:
        raise UpdateError("project", "the channel pointer is for project %s, this board runs %s"
                          % (shown(p.get("project")) if isinstance(p, dict) else "(none)", project))
    if channel is not None and p.get("channel") != channel:
        raise UpdateError("channel", "the channel pointer is for channel %s, this board follows %s"
                          % (shown(p.get("channel")), channel))
    if not is_version(p.get("version")) or not path_ok(p.get("release")) or not is_hex(p.get("sha256"), 64) \
            or not is_int(p.get("size"), 1, 1 << 30):
        raise bad("malformed channel pointer")
    if "expires" in p and not isinstance(p["expires"], str):
        raise bad("malformed channel pointer")
    from mpota.channel import check_expiry

    return check_expiry(p)

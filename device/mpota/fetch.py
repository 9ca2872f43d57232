# The release of the static layout (docs/protocol.md), which src_server shares: the signed envelope a
# channel pointer (or a version) names, downloaded to flash and verified. Apart from source.py so that
# a no-update check does not load it.
from micropython import const

from mpota.errors import UpdateError

_MAX_ENVELOPE = const(2097152)  # the largest release envelope a board accepts (~10,000 file entries)
_MAX_PACK = const(8388608)  # a sane bound for an update pack: a larger update downloads its files one by one


def _patched(cfg, base, path, size, sha256, headers, limit):
    # The envelope the pointer names, rebuilt from the running one: with the update pack under `base`
    # (at most `limit` bytes; its file records are split into TMP for install.py: pack.py), else with
    # the envelope's own patch (envpatch.py). True, or False: download it whole. Each step loads its
    # modules and drops them when it ends.
    from mpota import _phase
    from mpota.source import free_bytes

    # Splitting the pack needs as much flash again: at most half of what is free.
    limit = min(_MAX_PACK, free_bytes() // 2, limit or _MAX_PACK)
    got = _phase("envpatch", "download", cfg, path, size, sha256, headers, base, limit)
    if got and got[1]:  # the pack
        encoding = _phase("pack", "split", path, size, sha256)  # of the envelope's patch
        if encoding and _phase("envpatch", "rebuild", got[0], path, size, sha256, encoding):
            return True
        got = _phase("envpatch", "download", cfg, path, size, sha256, headers)  # it did not do: the patch
    return bool(got) and _phase("envpatch", "rebuild", got[0], path, size, sha256)


def _download(url, path, max_bytes, size, sha256, headers):
    # The whole envelope, checked against the pointer's size and sha256 when it gave them.
    import hashlib

    from mpota import downloads
    from mpota.manifest import hexdigest

    h = hashlib.sha256() if sha256 else None
    n = downloads.download(url, path, max_bytes, h, headers)
    if size is not None and n != size:
        raise UpdateError("size", "%s: %d bytes where the channel pointer says %d" % (url, n, size))
    if h and hexdigest(h) != sha256:
        raise UpdateError("sha256", "%s does not match the sha256 of the channel pointer" % url)


def download_envelope(cfg, base, url, max_bytes, size=None, sha256=None, headers=None, limit=None):
    # Downloads a release envelope to flash and verifies it (signature by a key of the config, this
    # project, layout, every entry). `size`/`sha256`, when a pointer gave them, must match exactly;
    # then the update pack under `base` is tried first (pack.py), then a patch from the running
    # release's envelope (envpatch.py); `limit`: the most a pack may have (a metered link's). `headers`
    # go with the requests (a source's credentials).
    # -> (path, header)
    from mpota.source import free_bytes, setup, tmp_dir

    path = tmp_dir() + "/release.json"
    room = free_bytes()
    if size is not None and size > room:
        raise UpdateError("space", "%s: the %d-byte envelope does not fit the %d bytes of free flash"
                          % (url, size, room))
    if not (size and sha256 and _patched(cfg, base, path, size, sha256, headers, limit)):
        setup(cfg)  # http may have been dropped with the patch's modules: its settings again
        _download(url, path, min(max_bytes, room), size, sha256, headers)
    from mpota import _drop

    _drop()  # the download's modules make room for the verifier's
    from mpota import envelope

    return path, envelope.verify(path, cfg["keys"], cfg["project"])


def fetch_envelope(cfg, base, pointer_or_version, headers=None):
    # The release a pointer (or a version: releases/<v>.json) names under `base`, downloaded with
    # `headers` and verified; -> its path on flash.
    from mpota.source import setup
    from mpota.version import is_version

    setup(cfg)
    pointer = pointer_or_version if isinstance(pointer_or_version, dict) else None
    if pointer:
        if pointer["size"] > _MAX_ENVELOPE:
            raise UpdateError("size", "the channel pointer names a %d-byte envelope; at most %d are accepted"
                              % (pointer["size"], _MAX_ENVELOPE))
        version = pointer["version"]
        url = "%s/%s" % (base, pointer["release"])
        path, header = download_envelope(cfg, base, url, pointer["size"], pointer["size"], pointer["sha256"], headers,
                                         pointer.get("max_update_bytes"))
    else:
        version = pointer_or_version
        if not is_version(version):
            raise UpdateError("version", "%s is not a version" % version)
        url = "%s/releases/%s.json" % (base, version)
        path, header = download_envelope(cfg, base, url, _MAX_ENVELOPE, headers=headers)
    if header["version"] != version:
        raise UpdateError("version", "%s holds release %s, not %s" % (url, header["version"], version))
    return path

# The release of the static layout (docs/protocol.md), which src_server shares: the signed envelope a
# channel pointer (or a version) names, downloaded to flash and verified. Apart from source.py so that
# a no-update check does not load it.
from micropython import const

from mpota.errors import UpdateError

_MAX_ENVELOPE = const(2097152)  # the largest release envelope a board accepts (~10,000 file entries)


def download_envelope(cfg, url, max_bytes, size=None, sha256=None, headers=None):
    # Downloads a release envelope to flash and verifies it (signature by a key of the config, this
    # project, layout, every entry). `size`/`sha256`, when a pointer gave them, must match exactly.
    # `headers` go with the request (a source's credentials). -> (path, header)
    import hashlib

    from mpota import downloads
    from mpota.manifest import hexdigest

    from mpota.source import free_bytes, tmp_dir

    path = tmp_dir() + "/release.json"
    room = free_bytes()
    if size is not None and size > room:
        raise UpdateError("space", "%s: the %d-byte envelope does not fit the %d bytes of free flash"
                          % (url, size, room))
    h = hashlib.sha256() if sha256 else None
    n = downloads.download(url, path, min(max_bytes, room), h, headers)
    if size is not None and n != size:
        raise UpdateError("size", "%s: %d bytes where the channel pointer says %d" % (url, n, size))
    if h and hexdigest(h) != sha256:
        raise UpdateError("sha256", "%s does not match the sha256 of the channel pointer" % url)
    del downloads, hexdigest
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
        path, header = download_envelope(cfg, url, pointer["size"], pointer["size"], pointer["sha256"], headers)
    else:
        version = pointer_or_version
        if not is_version(version):
            raise UpdateError("version", "%s is not a version" % version)
        url = "%s/releases/%s.json" % (base, version)
        path, header = download_envelope(cfg, url, _MAX_ENVELOPE, headers=headers)
    if header["version"] != version:
        raise UpdateError("version", "%s holds release %s, not %s" % (url, header["version"], version))
    return path

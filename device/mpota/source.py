# Where releases come from. cfg["source"]["type"] picks the module: "static" lives here (any web
# server, object store or CDN holding the layout of docs/protocol.md); every other type is the sibling
# module mpota.src_<type> with the same four functions:
#   check(cfg, current_version) -> None (nothing new) | pointer dict (at least "version")
#   fetch_release(cfg, pointer_or_version) -> path of the verified envelope on flash
#   blob_url(cfg, sha256) / patch_url(cfg, from_sha256, to_sha256) -> URL
from micropython import const

from mpota.errors import UpdateError

TMP = "/.mpota/tmp"
ETAG = "/.mpota/etag"  # {"url", "etag", "pointer"}: the last channel pointer, for conditional checks
_MAX_POINTER = const(4096)
_MAX_ENVELOPE = const(2097152)  # the largest release envelope a board accepts (~10,000 file entries)

_last = None  # the pointer the last check() returned, for fetch_release(cfg, version)


def source_module(cfg):
    # The module of a non-static source (mpota.src_<type>), None for "static" (this module).
    kind = cfg["source"]["type"]
    if kind == "static":
        return None
    name = "src_" + kind
    return getattr(__import__("mpota." + name), name)


def setup(cfg):
    # Network settings from the config (every source calls this before its first request).
    from mpota import http

    http.configure(cfg["timeout_s"], cfg["retries"], cfg["ca"])


def _base(cfg):
    return "%s/%s" % (cfg["source"]["url"].rstrip("/"), cfg["project"])


def _saved(url):
    import json

    try:
        with open(ETAG) as f:
            saved = json.loads(f.read())
        return saved if saved["url"] == url else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save(url, etag, pointer):
    import json

    try:
        with open(ETAG, "w") as f:
            f.write(json.dumps({"url": url, "etag": etag, "pointer": pointer}))
    except OSError:
        pass  # only costs a full answer at the next check


def _static_check(cfg, current_version):
    from mpota import envelope, http

    setup(cfg)
    url = "%s/channels/%s.json" % (_base(cfg), cfg["source"]["channel"])
    saved = _saved(url)
    status, etag, body = http.get_small(url, max_bytes=_MAX_POINTER,
                                        etag=saved["etag"] if saved and current_version else None)
    if status == 304 and saved:
        pointer = saved["pointer"]
        # The saved pointer was checked when it came; it may have expired since.
        envelope.check_expiry(pointer)
    elif status == 200:
        pointer = envelope.pointer(body, cfg["keys"], cfg["project"])
        if etag and (not saved or saved["etag"] != etag):
            _save(url, etag, pointer)
    elif status == 404:
        raise UpdateError("source", "%s: no such channel (HTTP 404)" % url)
    else:
        raise UpdateError("http", "%s: HTTP %d" % (url, status))
    return pointer


def check(cfg, current_version):
    # None when the channel offers current_version, else its pointer. One small conditional request
    # (If-None-Match) for the static source; current_version None asks unconditionally (force).
    global _last
    m = source_module(cfg)
    if m:
        return m.check(cfg, current_version)
    pointer = _static_check(cfg, current_version)
    _last = pointer
    return None if pointer["version"] == current_version else pointer


def download_envelope(cfg, url, max_bytes, size=None, sha256=None, headers=None):
    # Downloads a release envelope to flash and verifies it (signature by a key of the config, this
    # project, layout, every entry). `size`/`sha256`, when a pointer gave them, must match exactly.
    # `headers` go with the request (a source's credentials). -> (path, header)
    import binascii
    import hashlib
    import os

    from mpota import envelope, http

    try:
        os.mkdir(TMP)
    except OSError:
        pass  # already there
    path = TMP + "/release.json"
    h = hashlib.sha256() if sha256 else None
    n = http.download(url, path, max_bytes, h, headers)
    if size is not None and n != size:
        raise UpdateError("size", "%s: %d bytes where the channel pointer says %d" % (url, n, size))
    if h and binascii.hexlify(h.digest()).decode() != sha256:
        raise UpdateError("sha256", "%s does not match the sha256 of the channel pointer" % url)
    return path, envelope.verify(path, cfg["keys"], cfg["project"])


def fetch_release(cfg, pointer_or_version):
    # The release a pointer (or a version: the last check's pointer for it, else releases/<v>.json)
    # names, downloaded and verified; -> its path on flash.
    m = source_module(cfg)
    if m:
        return m.fetch_release(cfg, pointer_or_version)
    from mpota.version import is_version

    setup(cfg)
    pointer = pointer_or_version
    if not isinstance(pointer, dict):
        pointer = _last if _last and _last["version"] == pointer_or_version else None
    if pointer:
        if pointer["size"] > _MAX_ENVELOPE:
            raise UpdateError("size", "the channel pointer names a %d-byte envelope; at most %d are accepted"
                              % (pointer["size"], _MAX_ENVELOPE))
        version = pointer["version"]
        url = "%s/%s" % (_base(cfg), pointer["release"])
        path, header = download_envelope(cfg, url, pointer["size"], pointer["size"], pointer["sha256"])
    else:
        version = pointer_or_version
        if not is_version(version):
            raise UpdateError("version", "%s is not a version" % version)
        url = "%s/releases/%s.json" % (_base(cfg), version)
        path, header = download_envelope(cfg, url, _MAX_ENVELOPE)
    if header["version"] != version:
        raise UpdateError("version", "%s holds release %s, not %s" % (url, header["version"], version))
    return path


def blob_url(cfg, sha256):
    m = source_module(cfg)
    return m.blob_url(cfg, sha256) if m else "%s/blobs/%s.z" % (_base(cfg), sha256)


def patch_url(cfg, from_sha256, to_sha256):
    m = source_module(cfg)
    return m.patch_url(cfg, from_sha256, to_sha256) if m else "%s/patches/%s-%s.fz" % (
        _base(cfg), from_sha256, to_sha256)

# Where releases come from. cfg["source"]["type"] picks the module that serves it (source_module):
#   "static"                    this module: any web server, object store or CDN holding the layout
#                               of docs/protocol.md;
#   "server"                    src_server: mpota serve, the same layout asked with the device's token;
#   "github", "gitea", "gogs"   src_git, which asks src_<type> for what that API does its own way
#                               (that contract is in src_git.py's header);
#   "micropython_ota"           src_micropython_ota.
# A serving module has these functions (a board imports only the modules of its own source):
#   check(cfg, current_version) -> None (nothing new) | pointer dict (at least "version")
#   fetch_release(cfg, pointer_or_version) -> path of the verified envelope (or file list) on flash
#   blob_url(cfg, sha256) / patch_url(cfg, from_sha256, to_sha256) -> URL
#   fetch_file(cfg, url, dst_path, size, hasher) -> bytes   (sources whose releases are file lists)
#   report(cfg, event, version, note)                        (optional: sources that take reports)
# The channel check and the envelope download of the static layout live here once: check_channel and
# fetch_envelope, which src_server calls with its own base URL and credentials.
from micropython import const

from mpota.errors import UpdateError

TMP = "/.mpota/tmp"  # downloads wait here until install_release has put them into the slot
ETAG = "/.mpota/etag"  # {"url", "etag", "pointer"}: the last channel pointer, for conditional checks
_MAX_POINTER = const(4096)
_MAX_ENVELOPE = const(2097152)  # the largest release envelope a board accepts (~10,000 file entries)
_GIT = ("github", "gitea", "gogs")  # served by src_git, with src_<type> for that API's specifics

_last = None  # the pointer the last check_channel() returned, for fetch_envelope(cfg, base, version)


def module(name):
    # mpota.<name>, imported when first asked for.
    return getattr(__import__("mpota." + name), name)


def source_module(cfg):
    # The module that serves a non-static source, None for "static" (this module).
    kind = cfg["source"]["type"]
    if kind == "static":
        return None
    return module("src_git" if kind in _GIT else "src_" + kind)


def setup(cfg):
    # Network settings from the config (every source calls this before its first request).
    from mpota import http

    http.configure(cfg["timeout_s"], cfg["retries"], cfg["ca"])


def _base(cfg):
    return "%s/%s" % (cfg["source"]["url"].rstrip("/"), cfg["project"])


def tmp_dir():
    # TMP, made when missing.
    import os

    try:
        os.mkdir(TMP)
    except OSError:
        pass  # already there
    return TMP


def free_bytes():
    # Flash free for a download, less two blocks kept for the state record and the last error.
    import os

    st = os.statvfs("/")
    return max(0, st[0] * (st[4] - 2))


def drop_downloads():
    # Removes whatever an update left in TMP (a refused or cut download), so junk never fills the flash.
    from mpota.install import remove_tree

    try:
        remove_tree(TMP)
    except OSError:
        pass  # a failing flash; the next update tries again


# ---------------------------------------------------------------------------------------------------
# The last answer of a conditional check, kept on flash ({"url", "etag", <key>: value})


def saved_answer(path, url):
    # The answer kept at `path` for `url`, or None.
    import json

    try:
        with open(path) as f:
            saved = json.loads(f.read())
        return saved if saved["url"] == url else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_answer(path, saved, url, etag, key, value):
    # Keeps an answer that came with an ETag (and differs from the `saved` one) for the next check.
    import json

    if not etag or (saved and saved["etag"] == etag):
        return
    try:
        with open(path, "w") as f:
            f.write(json.dumps({"url": url, "etag": etag, key: value}))
    except OSError:
        pass  # only costs a full answer at the next check


# ---------------------------------------------------------------------------------------------------
# The static layout: a channel pointer, then the signed envelope it names


def _now_iso():
    # The board's UTC time as in `expires`, or None when the clock was never set (before 2024).
    import time

    t = time.gmtime()
    if t[0] < 2024:
        return None
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % t[:6]


def check_expiry(p):
    # Refuses a pointer whose `expires` has passed (a freeze attack replays an old one), when the board
    # knows the time. -> p
    now = _now_iso()
    if now and "expires" in p and now > p["expires"]:
        raise UpdateError("expired", "the channel pointer expired at %s" % p["expires"])
    return p


def check_channel(cfg, base, current_version, refusals, headers=None, query=""):
    # None when the channel under `base` offers current_version, else its pointer. One small request,
    # conditional (If-None-Match) on the last answer's ETag unless current_version is None (force).
    # `query` goes with the request only; `refusals` names the errors of statuses: (status, code, why).
    global _last
    from mpota import http

    setup(cfg)
    url = "%s/channels/%s.json" % (base, cfg["source"]["channel"])
    # A pointer kept while unsigned ones were taken must not answer a 304 once only signed ones are.
    key = url + "#signed" if cfg["signed_pointer"] else url
    saved = saved_answer(ETAG, key)
    status, etag, body = http.get_small(url + query, headers, _MAX_POINTER,
                                        saved["etag"] if saved and current_version else None)
    if status == 304 and saved:
        # The saved pointer was checked when it came; it may have expired since.
        pointer = check_expiry(saved["pointer"])
    elif status == 200:
        from mpota import envelope

        pointer = envelope.pointer(body, cfg["keys"], cfg["project"], cfg["source"]["channel"],
                                   cfg["signed_pointer"])
        save_answer(ETAG, saved, key, etag, "pointer", pointer)
    else:
        for refused, code, why in refusals:
            if status == refused:
                raise UpdateError(code, "%s: %s" % (url, why))
        raise UpdateError("http", "%s: HTTP %d" % (url, status))
    _last = pointer
    return None if pointer["version"] == current_version else pointer


def check(cfg, current_version):
    m = source_module(cfg)
    if m:
        return m.check(cfg, current_version)
    return check_channel(cfg, _base(cfg), current_version, ((404, "source", "no such channel (HTTP 404)"),))


def _patched(cfg, path, size, sha256, headers):
    # The envelope the pointer names, rebuilt from the running one and a patch (envpatch.py). The
    # download's modules are dropped before the patch is applied, the patch's before what follows.
    from mpota import _drop, envpatch

    old = envpatch.download(cfg, path, size, sha256, headers)
    del envpatch
    _drop()
    if old is None:
        return False
    from mpota import envpatch

    done = envpatch.rebuild(old, path, size, sha256)
    del envpatch
    _drop()
    return done


def _download(url, path, max_bytes, size, sha256, headers):
    # The whole envelope, checked against the pointer's size and sha256 when it gave them.
    import hashlib

    from mpota import downloads
    from mpota.filelist import hexdigest

    h = hashlib.sha256() if sha256 else None
    n = downloads.download(url, path, max_bytes, h, headers)
    if size is not None and n != size:
        raise UpdateError("size", "%s: %d bytes where the channel pointer says %d" % (url, n, size))
    if h and hexdigest(h) != sha256:
        raise UpdateError("sha256", "%s does not match the sha256 of the channel pointer" % url)


def download_envelope(cfg, url, max_bytes, size=None, sha256=None, headers=None):
    # Downloads a release envelope to flash and verifies it (signature by a key of the config, this
    # project, layout, every entry). `size`/`sha256`, when a pointer gave them, must match exactly;
    # then a patch from the running release's envelope is tried first (envpatch.py). `headers` go
    # with the request (a source's credentials). -> (path, header)
    path = tmp_dir() + "/release.json"
    room = free_bytes()
    if size is not None and size > room:
        raise UpdateError("space", "%s: the %d-byte envelope does not fit the %d bytes of free flash"
                          % (url, size, room))
    if not (size and sha256 and _patched(cfg, path, size, sha256, headers)):
        setup(cfg)  # http may have been dropped with the patch's modules: its settings again
        _download(url, path, min(max_bytes, room), size, sha256, headers)
    from mpota import _drop

    _drop()  # the download's modules make room for the verifier's
    from mpota import envelope

    return path, envelope.verify(path, cfg["keys"], cfg["project"])


def fetch_envelope(cfg, base, pointer_or_version, headers=None):
    # The release a pointer (or a version: the last check's pointer for it, else releases/<v>.json)
    # names under `base`, downloaded with `headers` and verified; -> its path on flash.
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


def fetch_release(cfg, pointer_or_version):
    m = source_module(cfg)
    if m:
        return m.fetch_release(cfg, pointer_or_version)
    return fetch_envelope(cfg, _base(cfg), pointer_or_version)


def blob_url(cfg, sha256):
    m = source_module(cfg)
    return m.blob_url(cfg, sha256) if m else "%s/blobs/%s.z" % (_base(cfg), sha256)


def patch_url(cfg, from_sha256, to_sha256):
    m = source_module(cfg)
    return m.patch_url(cfg, from_sha256, to_sha256) if m else "%s/patches/%s-%s.fz" % (
        _base(cfg), from_sha256, to_sha256)

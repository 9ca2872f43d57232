# The mpota update server (`mpota serve`) as a source: the static layout under <url>/d/<project>/,
# asked with this device's token and id. Each check says what the board runs (version, good or
# trial, the release it last left because it failed), so the server can pick the release its
# rollout gives this device, and learns of installs, trials and rollbacks even when a report is lost.
# Blobs and patches are content-addressed and public (immutable, cacheable): they need no token.
from micropython import const

from mpota.errors import UpdateError

_MAX_POINTER = const(4096)
_MAX_ENVELOPE = const(2097152)  # the largest release envelope a board accepts (as source.py)

_last = None  # the pointer the last check() returned, for fetch_release(cfg, version)


def _base(cfg):
    return "%s/d/%s" % (cfg["source"]["url"].rstrip("/"), cfg["project"])


def headers(cfg):
    src = cfg["source"]
    return {"Authorization": "Bearer " + src["token"], "X-Mpota-Device": src["device_id"]}


def _running(current_version):
    # "?version=…&state=good|trial&failed=…" from the state record (a version's "+" must be escaped).
    from mpota import state

    try:
        rec = state.load()
    except UpdateError:
        rec = {}
    q = []
    if current_version:
        q.append("version=" + current_version.replace("+", "%2B"))
    if rec.get("state") in ("good", "trial"):
        q.append("state=" + rec["state"])
    if rec.get("failed"):
        q.append("failed=" + rec["failed"].replace("+", "%2B"))
    return "?" + "&".join(q) if q else ""


def check(cfg, current_version):
    # One small conditional request: None when the server offers current_version, else its pointer.
    global _last
    from mpota import envelope, http, source

    source.setup(cfg)
    url = "%s/channels/%s.json" % (_base(cfg), cfg["source"]["channel"])
    saved = source._saved(url)
    status, etag, body = http.get_small(url + _running(current_version), headers(cfg), _MAX_POINTER,
                                        saved["etag"] if saved and current_version else None)
    if status == 304 and saved:
        pointer = envelope.check_expiry(saved["pointer"])
    elif status == 200:
        pointer = envelope.pointer(body, cfg["keys"], cfg["project"])
        if etag and (not saved or saved["etag"] != etag):
            source._save(url, etag, pointer)
    elif status == 401:
        raise UpdateError("auth", "%s: the server does not know this device's token (revoked?)" % url)
    elif status == 403:
        raise UpdateError("auth", "%s: the server has not accepted this device (pending approval?)" % url)
    elif status == 404:
        raise UpdateError("source", "%s: no such channel, or no release on it for this device" % url)
    else:
        raise UpdateError("http", "%s: HTTP %d" % (url, status))
    _last = pointer
    return None if pointer["version"] == current_version else pointer


def fetch_release(cfg, pointer_or_version):
    # The release the last check's pointer names (or releases/<version>.json for a pin), downloaded
    # with this device's credentials and verified; -> its path on flash.
    from mpota import source
    from mpota.version import is_version

    source.setup(cfg)
    pointer = pointer_or_version
    if not isinstance(pointer, dict):
        pointer = _last if _last and _last["version"] == pointer_or_version else None
    if pointer:
        if pointer["size"] > _MAX_ENVELOPE:
            raise UpdateError("size", "the channel pointer names a %d-byte envelope; at most %d are accepted"
                              % (pointer["size"], _MAX_ENVELOPE))
        version = pointer["version"]
        url = "%s/%s" % (_base(cfg), pointer["release"])
        path, header = source.download_envelope(cfg, url, pointer["size"], pointer["size"], pointer["sha256"],
                                                headers(cfg))
    else:
        version = pointer_or_version
        if not is_version(version):
            raise UpdateError("version", "%s is not a version" % version)
        url = "%s/releases/%s.json" % (_base(cfg), version)
        path, header = source.download_envelope(cfg, url, _MAX_ENVELOPE, headers=headers(cfg))
    if header["version"] != version:
        raise UpdateError("version", "%s holds release %s, not %s" % (url, header["version"], version))
    return path


def blob_url(cfg, sha256):
    return "%s/blobs/%s.z" % (_base(cfg), sha256)


def patch_url(cfg, from_sha256, to_sha256):
    return "%s/patches/%s-%s.fz" % (_base(cfg), from_sha256, to_sha256)


def report(cfg, event, version, note=None):
    # What happened (downloading, installed, failed, confirmed, rolled_back), in one POST; mpota
    # calls it best effort (the next check-in tells the server the same).
    from mpota import http

    doc = {"version": version, "event": event}
    if note:
        doc["error"] = note[:1000]
    http.post_json(_base(cfg) + "/reports", headers(cfg), doc)

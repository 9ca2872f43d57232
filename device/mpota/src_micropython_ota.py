# A server in the layout of the micropython_ota library: <host>/<project>/version holds the version
# tag, and each file sits beside it as <version>_<filename> (or <version>/<filename> with
# use_version_prefix false). Optional HTTP Basic auth (user, passwd), sent to that host only.
# - check: GET <project>/version (conditional with the ETag the server gave last time); any tag other
#   than the running one is an update, as in the library (a server goes back by naming an older tag);
# - fetch: every listed file is downloaded to flash first (a missing one fails the update and nothing
#   changes, as in the library), hashed as it comes; the file list names them with their sha256 plus
#   every other file of the running release, which the library would have left in place. install.py
#   then moves them into the new slot and checks them again before the switch.
from micropython import const

from mpota.errors import UpdateError
from mpota.source import TMP, tmp_dir

STAGE = TMP + "/mota"
ETAG = "/.mpota/mota_etag"  # {"url", "etag", "version"}
_MAX_VERSION = const(256)
_MAX_FILE = const(1048576)

_staged = {}  # url -> the file fetch_release downloaded it to


def _base(cfg):
    src = cfg["source"]
    return "%s/%s" % (src["host"].rstrip("/"), src["project"].strip("/"))


def _file_url(cfg, version, name):
    src = cfg["source"]
    return "%s/%s%s%s" % (_base(cfg), version, "_" if src["use_version_prefix"] else "/", name)


def headers(cfg, url):
    # Basic auth as the library sends it, only to the configured host.
    import binascii

    src = cfg["source"]
    if not src.get("user") or not url.startswith(src["host"].rstrip("/") + "/"):
        return {}
    token = binascii.b2a_base64(("%s:%s" % (src["user"], src.get("passwd") or "")).encode()).decode().strip()
    return {"Authorization": "Basic " + token}


def _judge(url, status, what):
    if status == 401 or status == 403:
        raise UpdateError("auth", "%s: HTTP %d, the server refused the user and password" % (url, status))
    if status == 404:
        raise UpdateError("not_found", "%s: HTTP 404, no %s on the server" % (url, what))
    if status != 200 and status != 304:
        raise UpdateError("http", "%s: HTTP %d" % (url, status))


def check(cfg, current_version, seen=None, pack=False):  # no check answer carries a pack here
    from mpota import channel, http, source

    source.setup(cfg)
    url = _base(cfg) + "/version"
    saved = channel.saved_answer(ETAG, url)
    etag = saved["etag"] if saved and current_version else None
    status, tag, body = http.get_small(url, headers(cfg, url), _MAX_VERSION, etag, seen)
    _judge(url, status, "version file")
    if status == 304 and saved:
        version = saved["version"]
    else:
        version = body.decode().strip()
        if not version or "/" in version or "\n" in version:
            raise UpdateError("source", "%s does not hold a version tag" % url)
        channel.save_answer(ETAG, saved, url, tag, "version", version)
    return None if version == current_version else {"version": version}


def fetch_release(cfg, version):
    import hashlib
    import os

    from mpota import downloads, filelist, manifest, source
    from mpota.install import remove_tree

    source.setup(cfg)
    remove_tree(STAGE)
    tmp_dir()
    os.mkdir(STAGE)
    _staged.clear()
    entries = []
    for i, name in enumerate(sorted(cfg["source"]["filenames"])):
        url = _file_url(cfg, version, name)
        path = "%s/%d" % (STAGE, i)
        h = hashlib.sha256()
        what = "file %s for version %s" % (name, version)
        n = downloads.download(url, path, _MAX_FILE, h, headers(cfg, url), lambda status: _judge(url, status, what))
        _staged[url] = path
        entries.append({"path": name, "sha256": manifest.hexdigest(h), "size": n, "url": url})
    out = TMP + "/files.json"
    w = filelist.Writer(out, "")
    for entry in filelist.merge(iter(entries), filelist.keep_running()):
        w.add(entry)
    w.close({"project": cfg["project"], "version": version, "source": "micropython_ota", "unsigned": True})
    return out


def fetch_file(cfg, url, dst_path, size, hasher):
    # The file fetch_release staged (moved into place), else downloaded again.
    import os

    from mpota import downloads

    path = _staged.pop(url, None)
    if path is None:
        return downloads.download(url, dst_path, size, hasher, headers(cfg, url))
    os.rename(path, dst_path)
    return downloads.hash_file(dst_path, hasher)


def blob_url(cfg, *_):  # also patch_url(cfg, from_sha256, to_sha256)
    raise UpdateError("source", "a micropython_ota source has no release blobs")


patch_url = blob_url

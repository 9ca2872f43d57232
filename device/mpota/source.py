# Where releases come from. cfg["source"]["type"] picks the module that serves it (source_module):
#   "static"                    this module: any web server, object store or CDN holding the layout
#                               of docs/protocol.md;
#   "server"                    src_server: mpota serve, the same layout asked with the device's token;
#   "github", "gitea", "gogs"   src_git, which asks src_<type> for what that API does its own way
#                               (that contract is in src_git.py's header);
#   "micropython_ota"           src_micropython_ota.
# A serving module has these functions (a board imports only the modules of its own source):
#   check(cfg, current_version, seen, pack) -> None (nothing new) | pointer dict (at least "version");
#                               `seen` (None or a dict) gets the kept headers of the source's answer;
#                               `pack`: an update pack that comes with the answer is kept (static, server)
#   fetch_release(cfg, pointer_or_version) -> path of the verified envelope (or file list) on flash
#   blob_url(cfg, sha256) / patch_url(cfg, from_sha256, to_sha256) -> URL
#   fetch_file(cfg, url, dst_path, size, hasher) -> bytes   (sources whose releases are file lists)
# The static layout's channel check lives once in channel.py (check_channel), its envelope download in
# fetch.py (fetch_envelope); src_server calls both with its own base URL and credentials. The one source
# that takes reports, mpota serve, takes them through post.report.
from mpota.errors import UpdateError

TMP = "/.mpota/tmp"  # downloads wait here until install_release has put them into the slot
PACKED = TMP + "/pack.bytes"  # there once an update pack is split into TMP (pack.py): the pack's size
_GIT = ("github", "gitea", "gogs")  # served by src_git, with src_<type> for that API's specifics


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


def drop_downloads(path=TMP):
    # Removes whatever an update left in TMP (a refused or cut download), so junk never fills the flash;
    # or the files of another folder of files (the pack a check answer left: answer.py). Not
    # install.remove_tree: loading install.py here would intern its names before the envelope is
    # verified, where an update needs the most heap (docs/device.md, RAM).
    import os

    try:
        for entry in list(os.ilistdir(path)):
            os.remove(path + "/" + entry[0])
        os.rmdir(path)
    except OSError:
        pass  # none there, or a failing flash; the next update tries again


def check(cfg, current_version, seen=None, pack=False):
    m = source_module(cfg)
    if m:
        return m.check(cfg, current_version, seen, pack)
    from mpota.channel import check_channel

    return check_channel(cfg, _base(cfg), current_version, ((404, "source", "no such channel (HTTP 404)"),),
                         None, "", seen, pack)


def available(cfg, current, force):
    # The pointer (at least {"version"}) of the release the source offers, or the pinned version; None
    # when there is nothing new.
    if cfg["pin"]:
        return {"version": cfg["pin"]}
    window = cfg["schedule"] and cfg["schedule"]["window"]  # a board without a clock takes the source's Date
    seen = {} if window else None
    # The check answer may bring the update pack (docs/protocol.md, "Check answers"), unless a metered
    # link must count every byte of an update against its cap first.
    pack = not any(t.get("max_update_bytes") for t in cfg["transports"] or ())
    pointer = check(cfg, None if force else current, seen, pack)
    if window:
        from mpota import schedule

        schedule.clock_from_date(seen.get("date"))
    if not pointer:
        return None
    from mpota.version import MAX_LENGTH

    if len(pointer["version"]) > MAX_LENGTH:  # a tag or commit of an unsigned source: the state record holds 256
        raise UpdateError("version", "the source names a version of %d characters; at most %d are accepted"
                          % (len(pointer["version"]), MAX_LENGTH))
    return pointer


def fetch_release(cfg, pointer_or_version):
    m = source_module(cfg)
    if m:
        return m.fetch_release(cfg, pointer_or_version)
    from mpota.fetch import fetch_envelope

    return fetch_envelope(cfg, _base(cfg), pointer_or_version)


def blob_url(cfg, sha256):
    m = source_module(cfg)
    return m.blob_url(cfg, sha256) if m else "%s/blobs/%s.z" % (_base(cfg), sha256)


def patch_url(cfg, from_sha256, to_sha256):
    m = source_module(cfg)
    return m.patch_url(cfg, from_sha256, to_sha256) if m else "%s/patches/%s-%s.fz" % (
        _base(cfg), from_sha256, to_sha256)

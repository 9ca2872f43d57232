# The mpota update server (`mpota serve`) as a source: the static layout under <url>/d/<project>/,
# asked with this device's token and id. Each check says what the board runs (version, good or
# trial, the release it last left because it failed), so the server can pick the release its
# rollout gives this device, and learns of installs, trials and rollbacks even when a report is lost.
# Blobs and patches are content-addressed and public (immutable, cacheable): they need no token; the
# update pack and the envelope are asked with it (the server records the download of this device).
# The check and the envelope download are the static source's (channel.check_channel, fetch.fetch_envelope).
from mpota.errors import UpdateError


def _base(cfg):
    return "%s/d/%s" % (cfg["source"]["url"].rstrip("/"), cfg["project"])


def headers(cfg):
    src = cfg["source"]
    return {"Authorization": "Bearer " + src["token"], "X-Mpota-Device": src["device_id"]}


def check(cfg, current_version, seen=None, pack=False):
    # One small conditional request that says what the board runs: None when the server offers
    # current_version, else its pointer. `seen`, `pack`: as source.check's (the server attaches the
    # update pack from the release the board runs). The query, "?version=…&state=good|trial&failed=…",
    # comes from the state record (a version's "+" escaped); its literals are over 10 characters, so
    # that MicroPython keeps no name for them (an update interns few: docs/device.md, RAM).
    from mpota import state
    from mpota.channel import check_channel

    try:
        rec = state.load()
    except UpdateError:
        rec = {}
    q = ""
    if current_version:
        q = "%s&version=%s" % (q, current_version.replace("+", "%2B"))
    if rec.get("state") in ("good", "trial"):
        q = "%s&state=%s" % (q, rec["state"])
    if rec.get("failed"):
        q = "%s&failed=%s" % (q, rec["failed"].replace("+", "%2B"))
    return check_channel(cfg, _base(cfg), current_version, (
        (401, "auth", "the server does not know this device's token (revoked?)"),
        (403, "auth", "the server has not accepted this device (pending approval?)"),
        (404, "source", "no such channel, or no release on it for this device"),
    ), headers(cfg), "?" + q[1:] if q else "", seen, pack)


def fetch_release(cfg, pointer_or_version):
    # The release the last check's pointer names (or releases/<version>.json for a pin), downloaded
    # with this device's credentials and verified; -> its path on flash.
    from mpota.fetch import fetch_envelope

    return fetch_envelope(cfg, _base(cfg), pointer_or_version, headers(cfg))


def blob_url(cfg, sha256):
    return "%s/blobs/%s.z" % (_base(cfg), sha256)


def patch_url(cfg, from_sha256, to_sha256):
    return "%s/patches/%s-%s.fz" % (_base(cfg), from_sha256, to_sha256)

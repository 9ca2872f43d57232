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


def check(cfg, current_version, seen=None, pack=False):
    # One small conditional request that says what the board runs: None when the server offers
    # current_version, else its pointer. `seen`, `pack`: as source.check's (the server attaches the
    # update pack from the release the board runs).
    from mpota.channel import check_channel

    return check_channel(cfg, _base(cfg), current_version, (
        (401, "auth", "the server does not know this device's token (revoked?)"),
        (403, "auth", "the server has not accepted this device (pending approval?)"),
        (404, "source", "no such channel, or no release on it for this device"),
    ), headers(cfg), _running(current_version), seen, pack)


def fetch_release(cfg, pointer_or_version):
    # The release the last check's pointer names (or releases/<version>.json for a pin), downloaded
    # with this device's credentials and verified; -> its path on flash.
    from mpota.fetch import fetch_envelope

    return fetch_envelope(cfg, _base(cfg), pointer_or_version, headers(cfg))


def blob_url(cfg, sha256):
    return "%s/blobs/%s.z" % (_base(cfg), sha256)


def patch_url(cfg, from_sha256, to_sha256):
    return "%s/patches/%s-%s.fz" % (_base(cfg), from_sha256, to_sha256)


def report(cfg, event, version, note=None):
    # What happened (installed, failed, confirmed, rolled_back), in one POST; mpota calls it best
    # effort (the next check-in tells the server the same). The start of a download is no report: the
    # server records it when this device asks for the update pack or the envelope.
    from mpota.post import post_json

    doc = {"version": version, "event": event}
    if note:
        doc["error"] = note[:1000]
    post_json(_base(cfg) + "/reports", headers(cfg), doc)

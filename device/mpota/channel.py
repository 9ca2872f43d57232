# The channel check of the static layout (docs/protocol.md), which src_server shares: one small
# request for the channel pointer, conditional on the ETag of the last answer kept on flash; and that
# kept answer, which the git and micropython_ota sources use for their own checks. Apart from
# source.py so that a no-update check loads no download code and an update's install no check code.
from micropython import const

from mpota.errors import UpdateError

ETAG = "/.mpota/etag"  # {"url", "etag", "pointer"}: the last channel pointer, for conditional checks
_MAX_POINTER = const(4096)


def saved_answer(path, url):
    # The answer kept at `path` for `url`, or None.
    import json

    try:
        with open(path) as f:
            saved = json.load(f)  # from the stream: no buffer of the whole file
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
# The static layout's channel pointer


def check_expiry(p):
    # Refuses a pointer whose `expires` has passed (a freeze attack replays an old one), when the board
    # knows the time (its clock was set: not before 2024). -> p
    import time

    t = time.gmtime()
    if "expires" in p and t[0] >= 2024 and "%04d-%02d-%02dT%02d:%02d:%02dZ" % t[:6] > p["expires"]:
        raise UpdateError("expired", "the channel pointer expired at %s" % p["expires"])
    return p


def check_channel(cfg, base, current_version, refusals, headers=None, query="", seen=None, pack=False):
    # None when the channel under `base` offers current_version, else its pointer. One small request,
    # conditional (If-None-Match) on the last answer's ETag unless current_version is None (force).
    # `query` goes with the request only; `refusals` names the errors of statuses: (status, code, why);
    # `seen`: a dict that gets the answer's kept headers (http.keep_head). `pack`: asks for
    # channels/<channel>.up, the pointer with the update pack from the release before (docs/protocol.md,
    # "Check answers"), and keeps that pack for the update; a source without it (404) is asked for the
    # pointer alone.
    from mpota import http
    from mpota.source import setup

    setup(cfg)
    url = "%s/channels/%s.json" % (base, cfg["source"]["channel"])
    # A pointer kept while unsigned ones were taken must not answer a 304 once only signed ones are.
    key = url + "#signed" if cfg["signed_pointer"] else url
    saved = saved_answer(ETAG, key)
    known = saved["etag"] if saved and current_version else None
    status = 404
    if pack:
        # (a literal of more than 10 characters: no name to intern)
        status, etag, body = http.get_small("%s/channels/%s.up%s" % (base, cfg["source"]["channel"], query), headers,
                                            _MAX_POINTER, known, seen, True)
    if status == 404:
        status, etag, body = http.get_small(url + query, headers, _MAX_POINTER, known, seen)
    if status == 304 and saved:
        # The saved pointer was checked when it came; it may have expired since.
        pointer = check_expiry(saved["pointer"])
    elif status == 200:
        import gc

        gc.collect()  # the answer's garbage goes first: what the pointer's parse keeps (names) lands low
        from mpota import envelope

        pointer = envelope.pointer(body, cfg["keys"], cfg["project"], cfg["source"]["channel"],
                                   cfg["signed_pointer"])
        save_answer(ETAG, saved, key, etag, "pointer", pointer)
    else:
        for refused, code, why in refusals:
            if status == refused:
                raise UpdateError(code, "%s: %s" % (url, why))
        raise UpdateError("http", "%s: HTTP %d" % (url, status))
    return None if pointer["version"] == current_version else pointer

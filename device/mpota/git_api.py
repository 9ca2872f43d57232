# What the git sources (src_git.py) ask of a Git host's API, apart from what makes them a source: the
# API and repository URLs, tokens (only to the API host, never into a message), rate limits, small
# answers, downloads and their clear refusals, and listings streamed from flash. A leaf: it imports
# no source module, so src_git and the providers (src_github, src_gitea, src_gogs) both use it.
# Tokens go only to the API host (and never into a message); rate limits are read from the answers'
# headers and honoured: a spent limit is waited out when it resets soon, else every request is
# refused until it resets (the board says so and never hammers the API).
from micropython import const

from mpota.errors import UpdateError
from mpota.source import TMP

_MAX_WAIT = const(60)  # seconds a spent rate limit is waited out in place; longer waits fail the call
_MAX_TREE = const(8388608)  # bytes of one tree listing (GitHub's recursive limit is 7 MB)
_MAX_ITEM = const(4096)  # bytes of one object of a listing
_MAX_SMALL = const(16384)  # bytes of a branch or release answer
_AUTH = {"github": "Bearer"}  # the Authorization scheme of tokens per API type; "token" for the others

_spent = {"until": 0, "api": ""}  # time.time() before which the API refuses us


def api(cfg):
    return cfg["source"]["api"].rstrip("/")


def repo_url(cfg):
    return "%s/repos/%s" % (api(cfg), cfg["source"]["repo"])


def quote(path):
    # Percent-encodes a repository path for a URL (keeps / and the unreserved characters).
    out = []
    for b in path.encode():
        c = chr(b)
        if "a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c in "/._~-":
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def _origin(url):
    return "/".join(url.split("/", 3)[:3])


def headers(cfg, url, accept=None):
    # The token only for URLs on the API host (a redirect elsewhere drops it: http.py). A User-Agent,
    # which GitHub's API requires (other requests go without: every byte of a check counts).
    h = {"Accept": accept, "User-Agent": "mpota"} if accept else {"User-Agent": "mpota"}
    token = cfg["source"].get("token")
    if token and _origin(url) == _origin(api(cfg)):
        h["Authorization"] = "%s %s" % (_AUTH.get(cfg["source"]["type"], "token"), token)
    return h


# ---------------------------------------------------------------------------------------------------
# Rate limits


def _epoch(date):
    # An HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT") -> seconds since 1970, or None.
    months = "JanFebMarAprMayJunJulAugSepOctNovDec"
    try:
        _, d, mon, y, hms, _ = date.split()
        m = months.index(mon) // 3 + 1
        hh, mm, ss = hms.split(":")
        y = int(y)
    except (ValueError, AttributeError):
        return None
    # Days from 1970-01-01 to y-m-d (civil calendar).
    yy = y - (m <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + int(d) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + int(hh) * 3600 + int(mm) * 60 + int(ss)


def _note_limit(cfg, status, head):
    # After an answer (its kept headers `head`): when it says the limit is spent, remember until when.
    # -> True if it is spent.
    import time

    if head.get("x-ratelimit-remaining") != "0":
        return False
    reset = head.get("x-ratelimit-reset", "")
    now = _epoch(head.get("date", ""))
    wait = int(reset) - now if reset.isdigit() and now else 60
    _spent["until"] = time.time() + max(1, min(wait, 86400))
    _spent["api"] = api(cfg)
    return status in (403, 429)


def _pace(cfg):
    # Before a request: waits out a spent limit that resets soon; refuses the request otherwise.
    import time

    if _spent["api"] != api(cfg):
        return
    left = _spent["until"] - time.time()
    if left <= 0:
        return
    if left > _MAX_WAIT:
        raise UpdateError("rate_limit", "%s: the API rate limit is spent; it resets in %d s, no request before then"
                          % (api(cfg), left))
    print("mpota: %s: the API rate limit is spent; waiting %d s until it resets" % (api(cfg), left))
    time.sleep(left)


def _limited(cfg, call, seen=None):
    # Runs one API call, call(seen), with the rate limit honoured: the call puts the answer's kept
    # headers into `seen` (http.keep_head); a request refused for the limit is made again once after
    # waiting (when the wait is short).
    if seen is None:
        seen = {}
    for _ in range(2):
        _pace(cfg)
        seen.clear()
        try:
            result = call(seen)
        except UpdateError:
            if _note_limit(cfg, 403, seen):
                continue
            raise
        if not _note_limit(cfg, result[0] if isinstance(result, tuple) else 200, seen):
            return result
    _pace(cfg)
    raise UpdateError("rate_limit", "%s: the API rate limit is spent" % api(cfg))


def get_small(cfg, url, accept=None, etag=None, max_bytes=_MAX_SMALL, what="file", seen=None):
    # -> (status, etag, body) of a small API answer. 401/403/404/422 become clear errors here.
    # `seen`: a dict that gets the answer's kept headers (http.keep_head).
    from mpota import http, source

    source.setup(cfg)
    status, tag, body = _limited(
        cfg, lambda seen: http.get_small(url, headers(cfg, url, accept), max_bytes, etag, seen), seen)
    _judge(cfg, url, status, what)
    return status, tag, body


def download(cfg, url, path, max_bytes, hasher=None, accept=None, what="file"):
    from mpota import downloads, source

    source.setup(cfg)
    return _limited(cfg, lambda seen: downloads.download(
        url, path, max_bytes, hasher, headers(cfg, url, accept), lambda status: _judge(cfg, url, status, what), seen))


def _judge(cfg, url, status, what):
    # Clear errors for the answers that mean "wrong token", "no access", "no such thing". The token
    # itself never appears in a message.
    src = cfg["source"]
    where = "%s (%s)" % (src["repo"], url.split("?", 1)[0])
    token = src.get("token")
    if status == 401:
        raise UpdateError("auth", "%s: HTTP 401, the API refused %s" % (
            where, "the token" if token else "the request (a private repository needs a token)"))
    if status == 403:
        raise UpdateError("auth", "%s: HTTP 403, %s may not read this repository" % (
            where, "the token" if token else "an anonymous caller"))
    if status in (404, 422):
        raise UpdateError("not_found", "%s: HTTP %d, no such repository or %s%s" % (
            where, status, what, "" if token else " (or the repository is private and needs a token)"))


# ---------------------------------------------------------------------------------------------------
# Streaming a JSON listing from flash


def scan(path, key, top=None):
    # Yields each object of the array under the top-level `key` of the JSON document at `path`, one at
    # a time (parsed from at most _MAX_ITEM bytes each); the scalar top-level fields named in `top` (a
    # dict) are filled in as they go by. The document is never held in RAM.
    import json

    depth = 0
    in_str = esc = False
    word = bytearray()  # the last string read outside an entry (a key), or a top-level scalar value
    item = None  # the bytes of the entry being read
    array_depth = -1  # depth inside the array under `key`
    last_key = None
    value_key = None  # the top-level key whose scalar value is being read
    value_str = False
    buf = memoryview(bytearray(512))
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            for i in range(n):
                c = buf[i]
                if item is not None:
                    item.append(c)
                    if len(item) > _MAX_ITEM:
                        raise UpdateError("source", "an entry of the API listing is over %d bytes" % _MAX_ITEM)
                if in_str:
                    if esc:
                        esc = False
                    elif c == 92:  # backslash
                        esc = True
                    elif c == 34:  # the closing quote
                        in_str = False
                        continue
                    if item is None and len(word) < 256:
                        word.append(c)
                    continue
                if value_key is not None and depth == 1 and (c == 44 or c == 125):  # , }
                    top[value_key] = bytes(word).decode() if value_str else json.loads(bytes(word))
                    value_key = None
                if c == 34:
                    in_str = True
                    if item is None:
                        word = bytearray()
                        value_str = value_key is not None
                elif c == 123 or c == 91:  # { [
                    if c == 123 and depth == array_depth and item is None:
                        item = bytearray(b"{")
                    elif c == 91 and depth == 1 and last_key == key:
                        array_depth = 2
                    depth += 1
                    value_key = None
                elif c == 125 or c == 93:  # } ]
                    depth -= 1
                    if item is not None and depth == array_depth:
                        yield json.loads(bytes(item))
                        item = None
                    if depth < array_depth:
                        array_depth = -1
                elif depth == 1 and c == 58:  # : after a top-level key
                    last_key = bytes(word).decode()
                    if top is not None and last_key in top:
                        value_key = last_key
                        value_str = False
                        word = bytearray()
                elif value_key is not None and c > 32:
                    word.append(c)


def listing(cfg, url, what, path=TMP + "/listing.json"):
    # Downloads one API listing to flash; -> its path.
    download(cfg, url, path, _MAX_TREE, what=what)
    return path


def walk(cfg, url_of, sha, descend, prefix="", depth=0):
    # Lists a tree one folder per request (for APIs without a recursive listing, or when it is
    # truncated), in path order, descending only into folders for which descend(path) is true (those
    # that can hold selected files). Each level's listing stays on flash while its folders are walked.
    import os

    if depth > 32:
        raise UpdateError("source", "folders nested more than 32 deep")
    path = listing(cfg, url_of(sha), "commit %s" % sha, "%s/tree%d.json" % (TMP, depth))
    for e in scan(path, "tree"):
        full = prefix + e["path"]
        if e.get("type") == "tree":
            if descend(full):
                yield from walk(cfg, url_of, e["sha"], descend, full + "/", depth + 1)
        else:
            e["path"] = full
            yield e
    os.remove(path)

# The git sources (types github, gitea, gogs): a board follows a branch tip, a tag, or the latest
# release of a repository, and installs the repository's files (picked by subdir, paths, allow,
# ignore) through mpota's A/B path, each file checked against its Git blob SHA-1 from the API's tree.
# This module serves them (source.py's contract: check, fetch_release, fetch_file, blob_url,
# patch_url); what one API does its own way is in its provider module p = src_<type> (provider()):
#   p.AUTH                                  "Bearer" or "token" (the Authorization scheme of tokens)
#   p.BRANCH, p.BRANCH_ACCEPT               what a check of a branch asks: repo URL + BRANCH % branch
#   p.RELEASE, p.RELEASE_ACCEPT             what a check of the latest release asks: repo URL + RELEASE
#   p.version_of(cfg, body) -> version      a commit for a branch, a tag name for a release
#   p.resolve(cfg, tag) -> the commit (or ref) the files of a tag are fetched at
#   p.trees(cfg, commit) -> tree entries {"path", "type", "mode", "sha", "size"} in path order
#   p.file_url(cfg, commit, path) -> URL    where a file of the tree downloads from
#   p.raw_accept(cfg, url) -> Accept | None for that download
#   p.asset_url(cfg, asset), p.ASSET_ACCEPT where a release asset downloads from, and its Accept;
#                                           only APIs with release assets (signed releases) have them
# Tokens go only to the API host (and never into a message); rate limits are read from the answers'
# headers and honoured: a spent limit is waited out when it resets soon, else every request is
# refused until it resets (the board says so and never hammers the API).
from micropython import const

from mpota.errors import UpdateError
from mpota.source import TMP, tmp_dir

ETAG = "/.mpota/git_etag"  # {"url", "etag", "version"}: the last branch tip, for conditional checks
_MAX_WAIT = const(60)  # seconds a spent rate limit is waited out in place; longer waits fail the call
_MAX_TREE = const(8388608)  # bytes of one tree listing (GitHub's recursive limit is 7 MB)
_MAX_ITEM = const(4096)  # bytes of one object of a listing
_MAX_SMALL = const(16384)  # bytes of a branch or release answer

_spent = {"until": 0, "api": ""}  # time.time() before which the API refuses us


def provider(cfg):
    # The module with this API's specifics: src_github, src_gitea or src_gogs.
    from mpota import source

    return source.module("src_" + cfg["source"]["type"])


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
    # The token only for URLs on the API host (a redirect elsewhere drops it: http.py).
    h = {"Accept": accept} if accept else {}
    token = cfg["source"].get("token")
    if token and _origin(url) == _origin(api(cfg)):
        h["Authorization"] = "%s %s" % (provider(cfg).AUTH, token)
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


# ---------------------------------------------------------------------------------------------------
# Which files of the repository make the app


def _segment(p, s):
    # * and ? within one path segment.
    if not p:
        return not s
    if p[0] == "*":
        return any(_segment(p[1:], s[k:]) for k in range(len(s) + 1))
    return bool(s) and (p[0] == "?" or p[0] == s[0]) and _segment(p[1:], s[1:])


def _segments(p, s):
    if not p:
        return not s
    if p[0] == "**":
        return any(_segments(p[1:], s[k:]) for k in range(len(s) + 1))
    return bool(s) and _segment(p[0], s[0]) and _segments(p[1:], s[1:])


def glob(pattern, path):
    # fnmatch-style: * and ? within a segment, ** across segments; a pattern that names a folder also
    # matches everything below it ("lib", "lib/", "tests/**").
    p = pattern.rstrip("/").split("/")
    s = path.split("/")
    return _segments(p, s) or _segments(p + ["**"], s)


def selected(src, repo_path):
    # The path of a repository file inside the slot, or None when the config leaves it out: below
    # `subdir` (which becomes the slot root), in `paths` (exact files or folders), matching `allow`
    # (when given) and no `ignore` pattern (ignore wins).
    path = repo_path
    sub = src.get("subdir")
    if sub:
        sub = sub.strip("/") + "/"
        if not path.startswith(sub):
            return None
        path = path[len(sub):]
    paths = src.get("paths")
    if paths and not any(path == x or path.startswith(x.rstrip("/") + "/") for x in paths):
        return None
    allow = src.get("allow")
    if allow and not any(glob(g, path) for g in allow):
        return None
    if any(glob(g, path) for g in src.get("ignore") or ()):
        return None
    return path


def may_hold(src, repo_dir):
    # Whether a repository folder can hold selected files (so a folder-by-folder walk skips the rest).
    sub = src.get("subdir")
    d = repo_dir + "/"
    if sub:
        sub = sub.strip("/") + "/"
        if not (d.startswith(sub) or sub.startswith(d)):
            return False
        if not d.startswith(sub):
            return True
        d = d[len(sub):]
    paths = src.get("paths")
    return not paths or any(x.startswith(d) or (d.startswith(x.rstrip("/") + "/")) for x in paths)


# ---------------------------------------------------------------------------------------------------
# check() and fetch_release()


def check(cfg, current_version, seen=None):
    # None when the source offers current_version, else {"version": ...}: a branch tip (its commit),
    # a tag, or the latest release's tag. A branch or release costs one small conditional request
    # (304 when nothing changed, where the API sends ETags); a pinned tag none at all. `seen`: a
    # dict that gets the answer's kept headers (http.keep_head).
    from mpota import channel

    src = cfg["source"]
    if src.get("tag"):
        version = src["tag"]
    else:
        p = provider(cfg)
        branch = src.get("branch")
        if branch:
            url, accept, what = repo_url(cfg) + p.BRANCH % quote(branch), p.BRANCH_ACCEPT, "branch " + branch
        else:
            url, accept, what = repo_url(cfg) + p.RELEASE, p.RELEASE_ACCEPT, "release"
        saved = channel.saved_answer(ETAG, url)
        status, etag, body = get_small(cfg, url, accept, saved["etag"] if saved and current_version else None,
                                       what=what, seen=seen)
        if status == 304 and saved:
            version = saved["version"]
        elif status == 200:
            version = p.version_of(cfg, body)
            channel.save_answer(ETAG, saved, url, etag, "version", version)
        else:
            raise UpdateError("http", "%s: HTTP %d" % (url.split("?", 1)[0], status))
    if cfg["keys"] and not src.get("branch"):
        version = _signed_version(version)
    return None if version == current_version else {"version": version}


_tags = {}  # release version -> the tag it was found under (a board with keys names releases by version)


def _signed_version(tag):
    # "v1.2.0" -> "1.2.0": the version a signed release of that tag carries.
    from mpota.version import is_version

    version = tag[1:] if tag[:1] in "vV" and is_version(tag[1:]) else tag
    _tags[version] = tag
    return version


def fetch_release(cfg, version):
    # Writes the file list of `version` (a commit for a branch, else a tag) to flash: every blob the
    # config selects with its size, Git blob SHA-1 and download URL. -> its path.
    from mpota import filelist

    src = cfg["source"]
    tmp_dir()
    if not src.get("branch") and cfg["keys"]:
        return _signed_release(cfg, version)
    commit = version if src.get("branch") else provider(cfg).resolve(cfg, version)
    path = TMP + "/files.json"
    w = filelist.Writer(path, "")
    kept = filelist.keep_running(("lib/mpota/",))
    for entry in filelist.merge(_entries(cfg, commit), kept):
        w.add(entry)
    w.close({"project": cfg["project"], "version": version, "source": src["type"], "unsigned": True})
    return path


def _signed_release(cfg, version):
    # A board with keys: the release's manifest.json asset (an envelope made by `mpota release`,
    # attached by `mpota publish --github`) is verified against the keys; its files come from the
    # repository at the release's tag, each checked against the manifest's sha256, or are copied from
    # the running slot when they are the same file. -> the path of that file list.
    from mpota import envelope, filelist

    src = cfg["source"]
    p = provider(cfg)
    if not hasattr(p, "asset_url"):
        raise UpdateError("source", "%s: signed releases need release assets, which this API does not serve; "
                          "follow a branch or a tag without keys" % src["type"])
    tag = _tags.get(version)
    manifest = None
    for candidate in ((tag,) if tag else (version, "v" + version)):
        try:
            url = "%s/releases/tags/%s" % (repo_url(cfg), quote(candidate))
            path = listing(cfg, url, "release %s" % candidate)
        except UpdateError as e:
            if e.code == "not_found":
                continue
            raise
        tag = candidate
        for asset in scan(path, "assets"):
            if asset.get("name") == "manifest.json":
                manifest = asset
        break
    if tag is None or manifest is None:
        raise UpdateError("not_found", "%s: release %s has no manifest.json asset (a signed envelope made by "
                          "mpota release and attached by mpota publish --github)" % (src["repo"], version))
    signed = TMP + "/release.json"
    url = p.asset_url(cfg, manifest)
    download(cfg, url, signed, 1048576, accept=p.ASSET_ACCEPT, what="asset manifest.json")
    header = envelope.verify(signed, cfg["keys"], cfg["project"])
    if header["version"] != version:
        raise UpdateError("version", "%s: release %s carries a manifest of version %s"
                          % (src["repo"], tag, header["version"]))
    commit = p.resolve(cfg, tag)
    path = TMP + "/files.json"
    w = filelist.Writer(path, header["created"])
    for entry in _signed_entries(cfg, commit, envelope.files(signed)):
        w.add(entry)
    header["source"] = src["type"]
    w.close(header)
    return path


def _signed_entries(cfg, commit, signed):
    # Joins the manifest's entries (sorted by path) with the repository tree of the tag (sorted by slot
    # path): a file the tree holds is downloaded from it; one it lacks (the vendored mpota package of
    # a release, say) has no URL and is copied from the running slot, when it is the same file there.
    tree = _entries(cfg, commit)
    t = next(tree, None)
    for e in signed:
        while t is not None and t["path"] < e["path"]:
            t = next(tree, None)
        entry = {"path": e["path"], "size": e["size"], "sha256": e["sha256"]}
        if "git_sha1" in e:
            entry["git_sha1"] = e["git_sha1"]
        if t is not None and t["path"] == e["path"] and t["size"] == e["size"]:
            entry["url"] = t["url"]
        yield entry


def _entries(cfg, commit):
    src = cfg["source"]
    p = provider(cfg)
    for e in p.trees(cfg, commit):
        if e.get("type") != "blob" or e.get("mode") in ("120000", "160000"):
            continue  # folders, symlinks, submodules
        path = selected(src, e["path"])
        if path is None:
            continue
        yield {"git_sha1": e["sha"], "path": path, "size": e["size"], "url": p.file_url(cfg, commit, e["path"])}


def listing(cfg, url, what, path=TMP + "/listing.json"):
    # Downloads one API listing to flash; -> its path.
    download(cfg, url, path, _MAX_TREE, what=what)
    return path


def walk(cfg, url_of, sha, prefix="", depth=0):
    # Lists a tree one folder per request (for APIs without a recursive listing, or when it is
    # truncated), in path order, descending only into folders that can hold selected files. Each
    # level's listing stays on flash while its folders are walked.
    import os

    if depth > 32:
        raise UpdateError("source", "folders nested more than 32 deep")
    path = listing(cfg, url_of(sha), "commit %s" % sha, "%s/tree%d.json" % (TMP, depth))
    for e in scan(path, "tree"):
        full = prefix + e["path"]
        if e.get("type") == "tree":
            if may_hold(cfg["source"], full):
                yield from walk(cfg, url_of, e["sha"], full + "/", depth + 1)
        else:
            e["path"] = full
            yield e
    os.remove(path)


def fetch_file(cfg, url, dst_path, size, hasher):
    return download(cfg, url, dst_path, size, hasher, provider(cfg).raw_accept(cfg, url), "file")


def blob_url(cfg, *_):  # also patch_url(cfg, from_sha256, to_sha256)
    raise UpdateError("source", "a %s source has no release blobs" % cfg["source"]["type"])


patch_url = blob_url

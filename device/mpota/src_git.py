# The git sources (types github, gitea, gogs): a board follows a branch tip, a tag, or the latest
# release of a repository, and installs the repository's files (picked by subdir, paths, allow,
# ignore) through mpota's A/B path, each file checked against its Git blob SHA-1 from the API's tree.
# This module serves them (source.py's contract: check, fetch_release, fetch_file, blob_url,
# patch_url); what one API does its own way is in its provider module p = src_<type> (provider()):
#   p.BRANCH, p.BRANCH_ACCEPT               what a check of a branch asks: repo URL + BRANCH % branch
#   p.RELEASE, p.RELEASE_ACCEPT             what a check of the latest release asks: repo URL + RELEASE
#   p.version_of(cfg, body) -> version      a commit for a branch, a tag name for a release
#   p.resolve(cfg, tag) -> the commit (or ref) the files of a tag are fetched at
#   p.trees(cfg, commit, descend) -> tree entries {"path", "type", "mode", "sha", "size"} in path order
#                                           (descend(folder): whether a folder can hold selected files)
#   p.file_url(cfg, commit, path) -> URL    where a file of the tree downloads from
#   p.raw_accept(cfg, url) -> Accept | None for that download
#   p.asset_url(cfg, asset), p.ASSET_ACCEPT where a release asset downloads from, and its Accept;
#                                           only APIs with release assets (signed releases) have them
# This module holds no API code: git_api.py talks to the APIs (tokens, rate limits, listings).
from mpota.errors import UpdateError
from mpota.git_api import download, get_small, listing, quote, repo_url, scan
from mpota.source import TMP, tmp_dir

ETAG = "/.mpota/git_etag"  # {"url", "etag", "version"}: the last branch tip, for conditional checks


def provider(cfg):
    # The module with this API's specifics: src_github, src_gitea or src_gogs.
    from mpota import source

    return source.module("src_" + cfg["source"]["type"])

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


def check(cfg, current_version, seen=None, pack=False):  # no check answer carries a pack here
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
    for e in p.trees(cfg, commit, lambda folder: may_hold(src, folder)):
        if e.get("type") != "blob" or e.get("mode") in ("120000", "160000"):
            continue  # folders, symlinks, submodules
        path = selected(src, e["path"])
        if path is None:
            continue
        yield {"git_sha1": e["sha"], "path": path, "size": e["size"], "url": p.file_url(cfg, commit, e["path"])}


def fetch_file(cfg, url, dst_path, size, hasher):
    return download(cfg, url, dst_path, size, hasher, provider(cfg).raw_accept(cfg, url), "file")


def blob_url(cfg, *_):  # also patch_url(cfg, from_sha256, to_sha256)
    raise UpdateError("source", "a %s source has no release blobs" % cfg["source"]["type"])


patch_url = blob_url

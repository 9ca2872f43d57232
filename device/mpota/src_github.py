# GitHub (and GitHub Enterprise Server, `api` = https://HOST/api/v3) as a source: a branch tip, a tag
# or the latest release, files from the repository tree checked by their Git blob SHA-1.
# - check: GET /repos/{repo}/commits/{branch} as `application/vnd.github.sha` (40 bytes, ETag, 304),
#   or GET /repos/{repo}/releases/latest (ETag, 304);
# - files: GET /repos/{repo}/git/trees/{commit}?recursive=1 (folder by folder when GitHub truncates
#   it); public repositories download from raw.githubusercontent.com (or, on GitHub Enterprise, the
#   /{repo}/raw/{commit}/{path} link, which redirects to its raw host): no API request per file and no
#   token; private ones through the contents API (`application/vnd.github.raw`) with the token;
# - a board with keys installs signed releases: the release's manifest.json asset, verified, with the
#   files of its tag checked against the manifest's sha256.
# src_git serves the source; this module is only what GitHub's API does its own way (src_git.py's
# header lists these names).
_SHA = "application/vnd.github.sha"
_RAW = "application/vnd.github.raw"
BRANCH = "/commits/%s"
BRANCH_ACCEPT = _SHA
RELEASE = "/releases/latest"
RELEASE_ACCEPT = "application/vnd.github+json"
ASSET_ACCEPT = "application/octet-stream"


def version_of(cfg, body):
    if cfg["source"].get("branch"):
        return _commit(body)
    import json

    return json.loads(body)["tag_name"]


def _commit(body):
    from mpota.errors import UpdateError

    sha = body.decode().strip()
    if len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha):
        raise UpdateError("source", "GitHub answered a commit SHA that is not one")
    return sha


def resolve(cfg, tag):
    from mpota import git_api

    url = "%s/commits/%s" % (git_api.repo_url(cfg), git_api.quote(tag))
    return _commit(git_api.get_small(cfg, url, _SHA, what="tag %s" % tag)[2])


def trees(cfg, commit, descend):
    from mpota import git_api

    base = git_api.repo_url(cfg)
    path = git_api.listing(cfg, "%s/git/trees/%s?recursive=1" % (base, commit), "commit %s" % commit)
    if _truncated(path):
        # Over GitHub's limit for one listing: one request per folder, only into selected folders.
        return git_api.walk(cfg, lambda sha: "%s/git/trees/%s" % (base, sha), commit, descend)
    return git_api.scan(path, "tree")


def _truncated(path):
    # GitHub puts "truncated" after the tree: read the listing's last bytes only.
    import os

    size = os.stat(path)[6]
    with open(path, "rb") as f:
        f.seek(max(0, size - 64))
        return b'"truncated":true' in f.read().replace(b" ", b"")


def file_url(cfg, commit, path):
    from mpota import git_api
    from mpota.config import GITHUB_API

    src = cfg["source"]
    api = git_api.api(cfg)
    if src.get("token"):
        return "%s/contents/%s?ref=%s" % (git_api.repo_url(cfg), git_api.quote(path), commit)
    if api == GITHUB_API:
        return "https://raw.githubusercontent.com/%s/%s/%s" % (src["repo"], commit, git_api.quote(path))
    web = api[:-7] if api.endswith("/api/v3") else api
    return "%s/%s/raw/%s/%s" % (web, src["repo"], commit, git_api.quote(path))


def raw_accept(cfg, url):
    from mpota import git_api

    return _RAW if url.startswith(git_api.api(cfg) + "/") else None


def asset_url(cfg, asset):
    # The API's asset URL needs the token (private repositories); the public download link spends no
    # API request. Both redirect to the storage host, which never sees the token.
    return asset["url"] if cfg["source"].get("token") else asset["browser_download_url"]

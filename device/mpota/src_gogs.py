# Gogs as a source (`api` = https://HOST/api/v1): a branch tip, a tag or the latest release, files
# from the repository tree checked by their Git blob SHA-1.
# - check: GET /repos/{repo}/branches/{branch} (its commit id), or /releases (the newest that is
#   neither a draft nor a prerelease: Gogs has no "latest" endpoint);
# - files: GET /repos/{repo}/git/trees/{sha}, one folder per request (its documented API lists no
#   tree recursively), only into folders the config selects; each file from
#   GET /repos/{repo}/raw/{commit}/{path} (the token goes to the API host only).
AUTH = "token"


def _git():
    from mpota import src_git

    return src_git


def _me():
    from mpota import src_gogs

    return src_gogs


def check_request(cfg):
    src = cfg["source"]
    base = _git().repo_url(cfg)
    if src.get("branch"):
        return "%s/branches/%s" % (base, _git().quote(src["branch"])), None
    return base + "/releases", None


def version_of(cfg, body):
    import json

    from mpota.errors import UpdateError

    doc = json.loads(body)
    if cfg["source"].get("branch"):
        return doc["commit"]["id"]
    for release in doc:
        if not release.get("draft") and not release.get("prerelease"):
            return release["tag_name"]
    raise UpdateError("not_found", "%s has no release yet" % cfg["source"]["repo"])


def resolve(cfg, tag):
    return tag  # Gogs's tree and raw endpoints take a tag name where they take a commit


def trees(cfg, commit):
    g = _git()
    base = g.repo_url(cfg)
    return g.walk(cfg, _me(), lambda sha: "%s/git/trees/%s" % (base, sha), commit)


def file_url(cfg, commit, path):
    g = _git()
    return "%s/raw/%s/%s" % (g.repo_url(cfg), commit, g.quote(path))


def raw_accept(cfg, url):
    return None


def check(cfg, current_version):
    return _git().check(_me(), cfg, current_version)


def fetch_release(cfg, version):
    return _git().fetch_release(_me(), cfg, version)


def fetch_file(cfg, url, dst_path, size, hasher):
    return _git().fetch_file(_me(), cfg, url, dst_path, size, hasher)


def blob_url(cfg, *_):  # also patch_url(cfg, from_sha256, to_sha256)
    return _git().no_blobs(cfg)


patch_url = blob_url

# Gitea as a source (`api` = https://HOST/api/v1): a branch tip, a tag or the latest release, files
# from the repository tree checked by their Git blob SHA-1.
# - check: GET /repos/{repo}/branches/{branch} (its commit id), or /releases/latest (its tag);
# - files: GET /repos/{repo}/git/trees/{commit}?recursive=true, page after page while "truncated";
#   each file from GET /repos/{repo}/raw/{path}?ref={commit} (the token goes to the API host only);
# - a board with keys installs signed releases (the release's manifest.json attachment).
AUTH = "token"
_PER_PAGE = 1000


def _git():
    from mpota import src_git

    return src_git


def _me():
    from mpota import src_gitea

    return src_gitea


def check_request(cfg):
    src = cfg["source"]
    base = _git().repo_url(cfg)
    if src.get("branch"):
        return "%s/branches/%s" % (base, _git().quote(src["branch"])), None
    return base + "/releases/latest", None


def version_of(cfg, body):
    import json

    doc = json.loads(body)
    return doc["commit"]["id"] if cfg["source"].get("branch") else doc["tag_name"]


def resolve(cfg, tag):
    return tag  # Gitea's tree and raw endpoints take a tag name where they take a commit


def trees(cfg, commit):
    g = _git()
    page = 1
    while True:
        url = "%s/git/trees/%s?recursive=true&per_page=%d&page=%d" % (g.repo_url(cfg), commit, _PER_PAGE, page)
        path = g.listing(cfg, _me(), url, "commit %s" % commit)
        top = {"truncated": None}
        yield from g.scan(path, "tree", top)
        if not top["truncated"]:
            return
        page += 1


def file_url(cfg, commit, path):
    g = _git()
    return "%s/raw/%s?ref=%s" % (g.repo_url(cfg), g.quote(path), commit)


def raw_accept(cfg, url):
    return None


ASSET_ACCEPT = None


def release_url(cfg, tag):
    g = _git()
    return "%s/releases/tags/%s" % (g.repo_url(cfg), g.quote(tag))


def asset_url(cfg, asset):
    return asset["browser_download_url"]  # on the Gitea host (the token goes along); storage redirects drop it


def check(cfg, current_version):
    return _git().check(_me(), cfg, current_version)


def fetch_release(cfg, version):
    return _git().fetch_release(_me(), cfg, version)


def fetch_file(cfg, url, dst_path, size, hasher):
    return _git().fetch_file(_me(), cfg, url, dst_path, size, hasher)


def blob_url(cfg, *_):  # also patch_url(cfg, from_sha256, to_sha256)
    return _git().no_blobs(cfg)


patch_url = blob_url

# Gitea as a source (`api` = https://HOST/api/v1): a branch tip, a tag or the latest release, files
# from the repository tree checked by their Git blob SHA-1.
# - check: GET /repos/{repo}/branches/{branch} (its commit id), or /releases/latest (its tag);
# - files: GET /repos/{repo}/git/trees/{commit}?recursive=true, page after page while "truncated";
#   each file from GET /repos/{repo}/raw/{path}?ref={commit} (the token goes to the API host only);
# - a board with keys installs signed releases (the release's manifest.json attachment).
# src_git serves the source; this module is only what Gitea's API does its own way (src_git.py's
# header lists these names).
BRANCH = "/branches/%s"
BRANCH_ACCEPT = None
RELEASE = "/releases/latest"
RELEASE_ACCEPT = None
ASSET_ACCEPT = None
_PER_PAGE = 1000


def version_of(cfg, body):
    import json

    doc = json.loads(body)
    return doc["commit"]["id"] if cfg["source"].get("branch") else doc["tag_name"]


def resolve(cfg, tag):
    return tag  # Gitea's tree and raw endpoints take a tag name where they take a commit


def trees(cfg, commit, descend):
    from mpota import git_api

    base = git_api.repo_url(cfg)
    page = 1
    while True:
        url = "%s/git/trees/%s?recursive=true&per_page=%d&page=%d" % (base, commit, _PER_PAGE, page)
        path = git_api.listing(cfg, url, "commit %s" % commit)
        top = {"truncated": None}
        yield from git_api.scan(path, "tree", top)
        if not top["truncated"]:
            return
        page += 1


def file_url(cfg, commit, path):
    from mpota import git_api

    return "%s/raw/%s?ref=%s" % (git_api.repo_url(cfg), git_api.quote(path), commit)


def raw_accept(cfg, url):
    return None


def asset_url(cfg, asset):
    return asset["browser_download_url"]  # on the Gitea host (the token goes along); storage redirects drop it

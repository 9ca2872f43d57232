# Gogs as a source (`api` = https://HOST/api/v1): a branch tip, a tag or the latest release, files
# from the repository tree checked by their Git blob SHA-1.
# - check: GET /repos/{repo}/branches/{branch} (its commit id), or /releases (the newest that is
#   neither a draft nor a prerelease: Gogs has no "latest" endpoint);
# - files: GET /repos/{repo}/git/trees/{sha}, one folder per request (its documented API lists no
#   tree recursively), only into folders the config selects; each file from
#   GET /repos/{repo}/raw/{commit}/{path} (the token goes to the API host only);
# - no release assets (no asset_url here), so no signed releases.
# src_git serves the source; this module is only what Gogs's API does its own way (src_git.py's
# header lists these names).
BRANCH = "/branches/%s"
BRANCH_ACCEPT = None
RELEASE = "/releases"  # all of them, newest first: version_of picks
RELEASE_ACCEPT = None


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


def trees(cfg, commit, descend):
    from mpota import git_api

    base = git_api.repo_url(cfg)
    return git_api.walk(cfg, lambda sha: "%s/git/trees/%s" % (base, sha), commit, descend)


def file_url(cfg, commit, path):
    from mpota import git_api

    return "%s/raw/%s/%s" % (git_api.repo_url(cfg), commit, git_api.quote(path))


def raw_accept(cfg, url):
    return None

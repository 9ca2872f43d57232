# Whether this board may install a release it has downloaded and verified: not an older one (unless
# signed as a rollback release from the running one, or pinned), not one needing a newer loader, and
# only one that carries the mpota package, so the board can update again after it.
from mpota.errors import UpdateError


def vet(cfg, path, current, force):
    # -> the release's header, once it is clear this board may install it.
    # A git branch or tag, or a micropython_ota server, gives a file list instead of a signed envelope.
    from mpota.manifest import is_list

    if is_list(path):
        from mpota.filelist import header
    else:
        from mpota.envelope import header
    header = header(path)
    _allowed(cfg, header, current, force)
    _keeps_updater(path)
    return header


def _keeps_updater(path):
    # A release must carry the mpota that runs from the slots (lib/mpota/): without it the board would
    # run the release but never update again. (A firmware with mpota frozen in needs no copy.)
    from mpota.manifest import entries

    if not __file__.startswith("/.mpota/slot"):
        return
    for entry in entries(path):
        if entry["path"] in ("lib/mpota/__init__.py", "lib/mpota/__init__.mpy"):
            return
    raise UpdateError("manifest", "the release does not carry the mpota package (lib/mpota/): "
                      "the board could not update again after installing it")


def _allowed(cfg, header, current, force):
    # An older release only when it is signed as a rollback release from the running version (or
    # pinned by this board's config): a server cannot push a device back to an old, vulnerable version,
    # nor use a rollback release made for one broken release to take back boards on any other.
    from mpota.version import compare, is_version

    new = header["version"]
    # Versions of unsigned sources (commits, tags, version tags) are names, not an order.
    ordered = not header.get("unsigned") and is_version(current)
    if current and ordered and compare(new, current) < 0 and cfg["pin"] != new:
        if not header.get("rollback"):
            raise UpdateError("version", "%s is older than the running %s and not a signed rollback release"
                              % (new, current))
        back = header.get("rollback_from", [])
        if current not in back:
            raise UpdateError("version", "%s is a rollback release from %s only, not from the running %s"
                              % (new, ", ".join(back) or "no release", current))
    if current == new and not force:
        raise UpdateError("version", "%s is already running" % new)
    if header.get("min_loader", 0) > boot_loader_version():
        raise UpdateError("loader", "%s needs loader %d; this board has loader %d"
                          % (new, header["min_loader"], boot_loader_version()))


def boot_loader_version():
    from mpota import state

    return state.loader().LOADER

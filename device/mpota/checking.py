# mpota.check(): is there a release to install? Each step runs as a phase (mpota._phase) that loads
# the modules it needs and drops them when it ends, as update() does; this module holds nothing else,
# so that a check, which runs often, needs little RAM.
from mpota import _phase as phase


def check(cfg=None):
    cfg, current, at = phase("api", "_checking", cfg)
    pointer = phase("source", "available", cfg, current, False)
    version = pointer["version"] if pointer else None
    available = version if phase("api", "_wanted", version, current, False) else None
    # The source answered: an earlier network error is over; with nothing to install, any error is.
    from mpota import errors

    errors.clear(errors.NETWORK if available else None)
    result = {"ok": True, "version": current, "available": available}
    if at is not None:
        result["transport"] = cfg["transports"][at]["type"]
    return result

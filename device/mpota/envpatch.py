# A release envelope rebuilt from the envelope of the running release and a patch between the two
# (patches/<from>-<to>.fz, named by the envelopes' sha256s; Fossil + zlib, as file patches): an update
# then downloads the lines of the envelope that changed, not the whole release's. Best effort: when
# the board has no envelope, the source has no such patch or it does not apply, the caller downloads
# the envelope whole. The result must have the pointer's size and sha256 (patch.apply checks both),
# and the caller verifies its signature exactly as it does a whole download.
# Two steps, so that the download's modules are gone before the patch is applied (fetch._patched).
# The update pack (pack.py) is downloaded here too: same base, same names, and a board that finds no
# pack loads no pack.py.
from micropython import const

from mpota.errors import UpdateError, flash_fault

_BUF = const(1024)  # the applier moves any count through views of its buffer: small is enough


def _get(url, dst, limit, headers):
    # True once `url` is at `dst` (at most `limit` bytes); False when it is not there, refused or cut
    # (nothing of it is left).
    import os

    from mpota import downloads

    try:
        downloads.download(url, dst, limit, None, headers)
        return True
    except (OSError, UpdateError) as e:
        if flash_fault(e):
            raise  # a failing or full flash fails the whole download too
        try:
            os.remove(dst)
        except OSError:
            pass  # none was made
        return False


def download(cfg, path, size, sha256, headers=None, base=None, limit=0):
    # -> (the running envelope's path, True) once the update pack from it to the envelope `sha256`
    # (the one the check answer brought, else <base>/packs/<from16>-<to16>.pack, at most `limit` bytes;
    # when `base` is given) is at path + ".pack",
    # else (its path, False) once the envelope's patch is at path + ".fz"; None when there is neither
    # (no envelope beside the slot, no such pack or patch, a failed or oversized download). One phase
    # for both: a board that finds no pack loads its download modules once.
    import hashlib
    import os

    from mpota import downloads, source, state
    from mpota.manifest import hexdigest

    source.setup(cfg)  # http may have been dropped with the update pack's modules: its settings again
    h = hashlib.sha256()
    try:
        old = state.slot_dir(state.running_slot(state.load())) + ".json"
        downloads.hash_file(old, h)
    except OSError as e:
        if flash_fault(e):
            raise
        return None  # e.g. ENOENT: a board set up without a release has no envelope beside its slot
    frm = hexdigest(h)
    if base:
        # The pack a check answer brought from this envelope (answer.py), if one did.
        try:
            os.rename("/.mpota/next/" + frm[:16] + ".pack", path + ".pack")
        except OSError as e:
            if flash_fault(e):
                raise
        else:
            try:
                os.rmdir("/.mpota/next")  # it held that one pack only
            except OSError:
                pass  # the pack is in place all the same; the next answer empties the folder
            return old, True
    # A pack's name carries the first 16 hex digits of each sha256 (src/rules/hex.ts packName).
    if base and _get("%s/packs/%s-%s.pack" % (base, frm[:16], sha256[:16]), path + ".pack", limit, headers):
        return old, True
    # A patch is worth it only when smaller than the envelope: no more than that is read.
    if _get(source.patch_url(cfg, frm, sha256), path + ".fz", size, headers):
        return old, False
    return None


def rebuild(old, path, size, sha256, encoding="fossil"):
    # -> True when `path` now holds the envelope of `size` bytes and `sha256`; False: fetch it whole.
    # `encoding`: of the patch at path + ".fz" (copy-hex from a check answer's pack: pack.py).
    import os

    from mpota import patch

    try:
        patch.apply(old, path + ".fz", path, size, sha256, memoryview(bytearray(_BUF)), encoding)
        return True
    except UpdateError:
        return False
    finally:
        os.remove(path + ".fz")

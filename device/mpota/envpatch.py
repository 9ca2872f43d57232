# A release envelope rebuilt from the envelope of the running release and a patch between the two
# (patches/<from>-<to>.fz, named by the envelopes' sha256s; Fossil + zlib, as file patches): an update
# then downloads the lines of the envelope that changed, not the whole release's. Best effort: when
# the board has no envelope, the source has no such patch or it does not apply, the caller downloads
# the envelope whole. The result must have the pointer's size and sha256 (patch.apply checks both),
# and the caller verifies its signature exactly as it does a whole download.
from mpota.errors import UpdateError


def fetch(cfg, path, size, sha256, headers=None):
    # -> True when `path` now holds the envelope of `size` bytes and `sha256`; False: fetch it whole.
    import hashlib
    import os

    from mpota import downloads, source, state
    from mpota.filelist import hexdigest

    h = hashlib.sha256()
    try:
        old = state.slot_dir(state.running_slot(state.load())) + ".json"
        downloads.hash_file(old, h)
    except (OSError, UpdateError):
        return False  # a board set up without a release has no envelope beside its slot
    fz = path + ".fz"
    try:
        # A patch is worth it only when smaller than the envelope: no more than that is read.
        downloads.download(source.patch_url(cfg, hexdigest(h), sha256), fz, size, None, headers)
        from mpota import patch

        patch.apply(old, fz, path, size, sha256, downloads.io_buffer(), "fossil")
        return True
    except UpdateError:
        return False
    finally:
        try:
            os.remove(fz)
        except OSError:
            pass  # never downloaded

# The files an update pack brought (pack.py split them into TMP as <first 16 hex of the file's
# sha256>.<kind>): install.py takes each file it cannot copy from its record before any download of
# its own. Apart from pack.py and install.py so that an install loads it only when there was a pack
# (source.PACKED), and then without the split.
from mpota.source import TMP


def records(entry):
    # -> [(path, kind, bytes)]: the pack's records for `entry` in TMP, patches first.
    import os

    stem = TMP + "/" + entry["sha256"][:16] + "."
    found = []
    for kind in ("f", "b", "z"):  # single characters: no name to intern
        try:
            found.append((stem + kind, kind, os.stat(stem + kind)[6]))
        except OSError:
            pass  # no such record
    return found


def take(old_path, dst, entry, buf):
    # The file from the pack's record for it: a patch from the running slot's file at the same path,
    # else the whole zlib blob. -> "patched" or "downloaded" once it is in
    # place and matches its entry; None when the pack has no record for it; else the UpdateError why not
    # (the caller then downloads the file). Only flash faults raise. Each record is removed once tried.
    from mpota import errors
    from mpota.install import remove_tree

    why = None
    for path, kind, _ in records(entry):
        try:
            if kind == "z":
                from mpota.install import inflate

                inflate(path, dst, entry, buf, "pack's blob")
                return "downloaded"
            from mpota import patch

            patch.apply(old_path, path, dst, entry["size"], entry["sha256"], buf, patch.ENCODINGS[kind == "b"])
            return "patched"
        except Exception as e:
            if errors.flash_fault(e):
                raise
            why = errors.as_update_error(e)
        finally:
            remove_tree(path)
    return why

# TEST STAND-IN for device-net's mpota/envelope.py (no signature check: src/client tests only, until
# the real module lands in device/mpota/).
import json


def header(path):
    with open(path) as f:
        f.readline()
        first = f.readline()
        last = None
        for line in f:
            if line.startswith("]"):
                last = line
                break
    return json.loads(first.rstrip("\n") + last.rstrip("\n"))


def files(path):
    with open(path) as f:
        f.readline()
        f.readline()
        for line in f:
            if line.startswith("]"):
                return
            yield json.loads(line.rstrip("\n").rstrip(","))

# Runs before /boot.py in every virtual boot: the parts of a board that are firmware, not flash.
import sys
import time
import os
import _vtime

time.sleep = _vtime.sleep
time.sleep_ms = _vtime.sleep_ms
time.sleep_us = _vtime.sleep_us
time.time = _vtime.time
time.ticks_ms = _vtime.ticks_ms
time.ticks_us = _vtime.ticks_us
time.ticks_cpu = _vtime.ticks_us
_gmtime = time.gmtime
_localtime = time.localtime
time.gmtime = lambda secs=None: _gmtime(_vtime.time() if secs is None else secs)
time.localtime = lambda secs=None: _localtime(_vtime.time() if secs is None else secs)
time.time_ns = lambda: int(_vtime.time_ms_text()) * 1000000
os.uname = lambda: ("esp32", "mpota-virtual", "1.27.0", "v1.27.0 on virtual device", "ESP32 module (virtual)")
os.urandom = lambda n: bytes(__import__("random").getrandbits(8) for _ in range(n))
# A board's root holds only what is on its flash.
_hidden = ("dev", "proc", ".sim")
_ilistdir = os.ilistdir


def _board_ilistdir(path="."):
    at_root = path in ("/", "") or (path == "." and os.getcwd() == "/")
    for entry in _ilistdir(path):
        if not (at_root and entry[0] in _hidden):
            yield entry


os.ilistdir = _board_ilistdir
os.listdir = lambda path=".": [e[0] for e in _board_ilistdir(path)]
# A board's built-in modules are always importable, whatever an app does to sys.path.
sys.path.append("/.sim")
import socket, tls, ssl, machine, network, esp32  # noqa: E401,F401

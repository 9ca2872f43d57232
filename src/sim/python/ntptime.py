# ntptime for the virtual device: settime() sets the board's clock to what the test chose
# (DeviceOptions.ntpMs) when the network is up; otherwise it times out, as with no NTP answer.
import _vboard

host = "pool.ntp.org"
timeout = 1


def time():
    s = _vboard.ntp_s()
    if s < 0:
        raise OSError(110)  # ETIMEDOUT
    return s


def settime():
    _vboard.set_clock_s(time())

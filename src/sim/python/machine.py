# machine for the virtual device (ESP32 flavour). Resets are handled by the host: they unwind the
# interpreter like a real reset, so no `except` in device code can swallow them.
import _vboard

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def reset():
    _vboard.reset()


def soft_reset():
    _vboard.soft_reset()


def reset_cause():
    return _vboard.reset_cause()


def unique_id():
    return bytes.fromhex(_vboard.unique_id())


_freq = 160000000


def freq(hz=None):
    global _freq
    if hz is None:
        return _freq
    _freq = hz


def idle():
    _vboard.sleep_ms(1)


def lightsleep(ms=None):
    _vboard.sleep_ms(ms or 0)


def deepsleep(ms=None):
    _vboard.deepsleep(ms or 0)


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


class WDT:
    # Once started it cannot be stopped, as on ESP32 and RP2040.
    def __init__(self, id=0, timeout=5000):
        _vboard.wdt_start(timeout)

    def feed(self):
        _vboard.wdt_feed()


# What tests observe and set: every level written to a pin, as [ticks_ms, level] per pin id, and the
# voltage at each ADC pin (volts by pin id; 1.65 V when unset).
pin_levels = {}
adc_volts = {}


def _pin_id(pin):
    return pin.id if isinstance(pin, Pin) else pin


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._value = 0
        if value is not None:
            self._set(value)

    def _set(self, v):
        import time

        self._value = 1 if v else 0
        pin_levels.setdefault(self.id, []).append([time.ticks_ms(), self._value])

    def init(self, mode=-1, pull=-1, value=None):
        if value is not None:
            self._set(value)

    def value(self, v=None):
        if v is None:
            return self._value
        self._set(v)

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self._set(1)

    def off(self):
        self._set(0)

    def toggle(self):
        self._set(self._value ^ 1)

    def irq(self, handler=None, trigger=3):
        pass


class ADC:
    ATTN_0DB = 0
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin = _pin_id(pin)

    def read_uv(self):
        return int(adc_volts.get(self.pin, 1.65) * 1000000)

    def read_u16(self):
        return min(65535, (self.read_uv() * 65536 + 1650000) // 3300000)  # unset (1.65 V): 32768, as ever

    def read(self):
        return self.read_u16() >> 4

    def atten(self, value):
        pass


class RTC:
    def datetime(self, value=None):
        import time

        if value is None:
            t = time.localtime()
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)
        _vboard.set_clock_s(time.mktime((value[0], value[1], value[2], value[4], value[5], value[6], 0, 0)))

    def memory(self, data=None):
        if data is None:
            return b""


class UART:
    # A UART whose far end is the test's modem, if it sits on this id (src/sim/worker/links.ts); text
    # only, as AT commands are. readline() gives None when no whole line has arrived.
    def __init__(self, id, baudrate=115200, **kwargs):
        self._id = id
        self._rx = b""

    def init(self, baudrate=115200, **kwargs):
        pass

    def deinit(self):
        pass

    def write(self, buf):
        _vboard.uart_write(self._id, buf if isinstance(buf, str) else bytes(buf).decode())
        return len(buf)

    def _pull(self):
        self._rx += _vboard.uart_read(self._id).encode()

    def any(self):
        self._pull()
        return len(self._rx)

    def read(self, nbytes=None):
        self._pull()
        n = len(self._rx) if nbytes is None else min(nbytes, len(self._rx))
        out, self._rx = self._rx[:n], self._rx[n:]
        return out or None

    def readline(self):
        self._pull()
        i = self._rx.find(b"\n")
        if i < 0:
            return None
        out, self._rx = self._rx[:i + 1], self._rx[i + 1:]
        return out

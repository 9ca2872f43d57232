# The battery gate (docs/device.md): no download and no commit below battery.min_percent. The charge
# comes from a fuel gauge function ("read": "module.function" -> percent) or from a voltage divider on
# an ADC pin, mapped linearly from v_min (0 %) to v_max (100 %).
from micropython import const

_SAMPLES = const(4)


def percent(bat):
    if bat["read"]:
        name, fn = bat["read"].rsplit(".", 1)
        return int(getattr(__import__(name, None, None, (fn,)), fn)())
    import machine

    adc = machine.ADC(machine.Pin(bat["adc_pin"]))
    uv = 0
    for _ in range(_SAMPLES):  # an average: one ADC reading is noisy
        uv += adc.read_uv() if hasattr(adc, "read_uv") else adc.read_u16() * 3300000 // 65535
    volts = uv / _SAMPLES / 1000000 * bat["divider"]
    p = (volts - bat["v_min"]) * 100 / (bat["v_max"] - bat["v_min"])
    return max(0, min(100, int(p)))


def deferral(bat):
    # "battery 12 % < 20 %", or None when the charge is enough. A gauge that fails defers too: not
    # knowing the charge is no reason to risk it.
    try:
        p = percent(bat)
    except Exception as e:
        return "battery: %s failed (%s: %s)" % (bat["read"] or "the ADC", type(e).__name__, e)
    if p < bat["min_percent"]:
        return "battery %d %% < %d %%" % (p, bat["min_percent"])
    return None

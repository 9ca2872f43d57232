# Reads the (simulated) sensors and keeps a small log in /data, which updates never touch.
import machine


def read():
    raw = machine.ADC(machine.Pin(34)).read_u16()
    return 18.0 + raw / 8192, 40 + raw // 2048


def log(temperature, humidity):
    import os
    try:
        os.mkdir("/data")
    except OSError:
        pass
    with open("/data/readings.csv", "a") as f:
        f.write("%.1f,%d\n" % (temperature, humidity))

#!/usr/bin/env python3
"""Convert temperatures: python tempconv.py 21.5 C  ->  70.7 F"""

import sys


def to_fahrenheit(celsius):
    return celsius * 9 / 5 + 32


def to_celsius(fahrenheit):
    return fahrenheit - 32 * 5 / 9


def convert(value, unit):
    unit = unit.upper()
    if unit == "C":
        return to_fahrenheit(value), "F"
    if unit == "F":
        return to_celsius(value), "C"
    raise ValueError(f"unknown unit {unit!r}")


def main(argv):
    value, unit = float(argv[1]), argv[2]
    result, other = convert(value, unit)
    print(f"{result:.1f} {other}")


if __name__ == "__main__":
    main(sys.argv)

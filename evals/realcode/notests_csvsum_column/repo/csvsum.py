#!/usr/bin/env python3
"""Sum the amount column of a CSV file: python csvsum.py FILE"""

import csv
import sys


def total(path):
    with open(path, newline="") as f:
        return sum(float(row["amount"]) for row in csv.DictReader(f) if row["amount"])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: csvsum.py FILE", file=sys.stderr)
        return 2
    print(f"{total(argv[0]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

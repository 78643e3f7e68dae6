#!/usr/bin/env python3
"""Count log lines per level: python logstats.py app.log

Lines look like: 2024-05-01 12:00:03 WARNING disk almost full
"""

import sys
from collections import Counter


def level_counts(lines):
    counts = Counter()
    for line in lines:
        level = line.split()[2]
        counts[level] += 1
    return counts


def main(argv):
    with open(argv[1], encoding="utf-8") as f:
        counts = level_counts(f)
    for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        print(f"{level:<8}{counts.get(level, 0):>6}")


if __name__ == "__main__":
    main(sys.argv)

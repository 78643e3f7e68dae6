#!/usr/bin/env python3
"""Print the most frequent words of a text file: python wordfreq.py FILE [N]"""

import sys
from collections import Counter


def count_words(text):
    return Counter(text.split())


def main(argv):
    path = argv[1]
    top = int(argv[2]) if len(argv) > 2 else 10
    with open(path, encoding="utf-8") as f:
        counts = count_words(f.read())
    for word, n in counts.most_common(top):
        print(f"{word}: {n}")


if __name__ == "__main__":
    main(sys.argv)

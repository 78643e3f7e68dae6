"""A tiny to-do list kept in a JSON file."""

import argparse
import json
import sys
from pathlib import Path


def load(path):
    path = Path(path)
    if not path.exists():
        return []
    return json.loads(path.read_text())


def save(path, items):
    Path(path).write_text(json.dumps(items, indent=2))


def add(items, text):
    items.append({"text": text, "done": False})
    return items


def complete(items, number):
    items[number - 1]["done"] = True
    return items


def render(items):
    lines = []
    for i, item in enumerate(items, 1):
        mark = "x" if item["done"] else " "
        lines.append(f"{i}. [{mark}] {item['text']}")
    return "\n".join(lines)


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(prog="todo")
    parser.add_argument("--file", default="todo.json")
    sub = parser.add_subparsers(dest="command", required=True)
    p_add = sub.add_parser("add")
    p_add.add_argument("text")
    p_done = sub.add_parser("done")
    p_done.add_argument("number", type=int)
    sub.add_parser("list")
    args = parser.parse_args(argv)

    items = load(args.file)
    if args.command == "add":
        save(args.file, add(items, args.text))
    elif args.command == "done":
        save(args.file, complete(items, args.number))
    elif args.command == "list":
        print(render(items), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

import json

from sales import parsing


def to_json(rows):
    records = [parsing.parse_row(r) for r in rows]
    return json.dumps([{**r, "day": r["day"].isoformat()} for r in records])

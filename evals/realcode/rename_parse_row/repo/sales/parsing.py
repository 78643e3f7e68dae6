import csv
import io
from datetime import date


def parse_row(row):
    """One CSV row (a dict of strings) as typed values."""
    return {
        "day": date.fromisoformat(row["day"]),
        "region": row["region"].strip(),
        "amount": float(row["amount"]),
    }


def read(text):
    return [parse_row(r) for r in csv.DictReader(io.StringIO(text))]

from collections import defaultdict

from sales.parsing import parse_row


def by_region(rows):
    totals = defaultdict(float)
    for row in rows:
        record = parse_row(row)
        totals[record["region"]] += record["amount"]
    return dict(totals)

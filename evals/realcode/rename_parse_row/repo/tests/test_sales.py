import json

from sales.export import to_json
from sales.parsing import parse_row, read
from sales.summary import by_region

ROWS = [{"day": "2024-01-02", "region": "north ", "amount": "10.5"},
        {"day": "2024-01-03", "region": "north", "amount": "2"},
        {"day": "2024-01-03", "region": "south", "amount": "4"}]


def test_parse_row():
    assert parse_row(ROWS[0])["region"] == "north"


def test_summary_and_export():
    assert by_region(ROWS) == {"north": 12.5, "south": 4.0}
    assert json.loads(to_json(ROWS))[2]["amount"] == 4.0
    assert len(read("day,region,amount\n2024-01-01,x,1\n")) == 1

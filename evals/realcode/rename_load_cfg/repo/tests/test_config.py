import json

from app.cli import parse
from app.config import load_cfg
from app.server import address


def test_defaults():
    assert load_cfg()["port"] == 8000


def test_file_and_overrides(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"host": "example.org", "port": 9000}))
    assert address(f) == "http://example.org:9000/"
    assert parse(["--config", str(f), "--port", "1"])["port"] == 1

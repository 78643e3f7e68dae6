import json
from pathlib import Path

DEFAULTS = {"host": "127.0.0.1", "port": 8000, "debug": False}


def load_cfg(path=None, **overrides):
    """Defaults, then the JSON file at `path` if given, then keyword overrides."""
    config = dict(DEFAULTS)
    if path is not None and Path(path).exists():
        config.update(json.loads(Path(path).read_text()))
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config

from app.config import load_cfg


def address(path=None):
    cfg = load_cfg(path)
    return f"http://{cfg['host']}:{cfg['port']}/"

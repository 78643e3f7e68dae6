import argparse

from app import config


def parse(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    return config.load_cfg(args.config, port=args.port)

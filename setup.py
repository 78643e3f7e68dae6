"""The package list, which pyproject.toml cannot compute: tiercode's five packages, and
every folder of eval task data under evals/realcode and evals/repo_tasks.

Those folders hold Python files (the repositories the tasks edit). setuptools asks for
data folders like them to be listed as packages (its "Package would be ignored"
warning, once per folder); listed, they install exactly as before, with no warning.
"""

from pathlib import Path

from setuptools import setup

CORE = ["tiercode.cli", "tiercode.agent", "tiercode.tools", "tiercode.tui", "tiercode.evals"]


def data_packages(folder: str) -> list[str]:
    base = Path(__file__).parent / "evals"
    found = []
    for path in sorted([base / folder, *(base / folder).rglob("*")]):
        parts = path.relative_to(base).parts
        if path.is_dir() and all(p.isidentifier() for p in parts) and "__pycache__" not in parts:
            found.append("tiercode.evals." + ".".join(parts))
    return found


def packages() -> list[str]:
    return [*CORE, *data_packages("realcode"), *data_packages("repo_tasks")]


if __name__ == "__main__":  # how setuptools' build backend runs this file
    setup(packages=packages())

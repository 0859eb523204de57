"""The settings an operator can set: those followup/config.py reads from the environment,
and those the README's configuration table lists."""

import ast
import re
from pathlib import Path

from followup import config

ENV_READERS = {"_env", "_env_bool", "_port"}
README = Path(config.PROJECT_ROOT, "README.md")


def environment_settings() -> set[str]:
    """The names followup/config.py reads from the environment."""
    tree = ast.parse(Path(config.__file__).read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ENV_READERS
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def documented_settings() -> set[str]:
    """The names in the first column of the README's configuration table."""
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, flags=re.MULTILINE))

"""Regenerate docs/cli.md from the CLI's own help: ``.venv/bin/python docs/make_cli_md.py``."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gridsite.cli import main

INTRO = """# The `gridsite` command

Generated from the CLI's help by `docs/make_cli_md.py`; a test checks it is current.
Every command exits 0 on success and 1 on a problem it explains (no traceback; `-vv` shows one).
"""


def render() -> str:
    """Return the Markdown text of docs/cli.md."""
    runner = CliRunner()
    parts = [INTRO]
    for args, title in [
        ([], "gridsite"),
        (["run"], "gridsite run"),
        (["rerun"], "gridsite rerun"),
        (["grid"], "gridsite grid"),
        (["sensitivity"], "gridsite sensitivity"),
        (["validate"], "gridsite validate"),
        (["ahp"], "gridsite ahp"),
    ]:
        help_text = runner.invoke(main, [*args, "--help"], prog_name="gridsite").output
        parts.append(f"## `{title}`\n\n```text\n{help_text.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    Path(__file__).with_name("cli.md").write_text(render(), encoding="utf-8")

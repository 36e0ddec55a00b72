"""Every ```python block of docs/python.md runs, in order, in one namespace (the walk-through)."""

import contextlib
import io
import os
import re
import sys

import pytest

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "python.md")


def blocks():
    with open(DOC) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def run_walk_through(directory, echo=False):
    """Runs the blocks in `directory`; returns what each printed."""
    os.chdir(directory)
    namespace, printed = {"__name__": "__walkthrough__"}, []
    for code in blocks():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, DOC, "exec"), namespace)
        printed.append(out.getvalue())
        if echo:
            print("-" * 40 + "\n" + code + ">>>\n" + out.getvalue(), file=sys.__stdout__)
    return printed


def test_walk_through_runs(tmp_path):
    pytest.importorskip("matplotlib")
    old = os.getcwd()
    try:
        printed = run_walk_through(tmp_path)
    finally:
        os.chdir(old)
    assert len(printed) == len(blocks()) >= 10
    assert (tmp_path / "curves.png").stat().st_size > 10000
    assert "completed 50\nTrue\n" in printed


if __name__ == "__main__":  # python python/tests/test_docs.py DIR: shows each block's output
    run_walk_through(sys.argv[1], echo=True)

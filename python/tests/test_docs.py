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


def shown_outputs():
    """The ```text block right after each ```python block (None where there is none)."""
    with open(DOC) as f:
        pairs = re.findall(r"```python\n.*?```\n(?:\n```text\n(.*?)```)?", f.read(), flags=re.S)
    return [text if text else None for text in pairs]


def normalized(text, directory):
    """Output with what differs between machines masked: seconds and the run directory."""
    text = text.replace(str(directory), "/home/you")
    return re.sub(r"\d+\.\d+ s\b", "T s", text)


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
    for code, shown, got in zip(blocks(), shown_outputs(), printed):
        if shown is None:
            continue
        if 'model="transformer"' in code:  # the page says its summary line may vary in-process
            shown, got = shown.split("\n", 1)[1], got.split("\n", 1)[1]
        assert normalized(got, tmp_path) == normalized(shown, tmp_path)  # what the page shows


if __name__ == "__main__":  # python python/tests/test_docs.py DIR: shows each block's output
    run_walk_through(sys.argv[1], echo=True)

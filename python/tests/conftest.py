"""Fixtures shared by the package's tests: the standard experiment, once per session."""

import os
import subprocess

import pytest

import rfm

# The standard experiment of the README: RFM with the Gaussian kernel on add mod 61, half of the
# pairs for training, 50 iterations.
STANDARD = dict(task="add", p=61, frac=0.5, kernel="gaussian", iters=50, seed=0)


def cli(*args, check=True):
    """Runs the installed `rfm` program; returns the finished process (text output)."""
    done = subprocess.run([rfm.executable(), *map(str, args)], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"rfm {' '.join(map(str, args))} failed: {done.stderr}")
    return done


def cli_error(*args):
    """The one-line message of a failing `rfm` command, without the "rfm: error: " prefix."""
    done = cli(*args, check=False)
    assert done.returncode != 0, f"rfm {args} did not fail"
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("rfm: error: ")]
    assert len(lines) == 1, done.stderr
    return lines[0].removeprefix("rfm: error: ")


@pytest.fixture(scope="session")
def standard_runs(tmp_path_factory):
    """The standard experiment twice: by the program and by rfm.grok."""
    base = tmp_path_factory.mktemp("standard")
    flags = [f"--{k}={v}" for k, v in STANDARD.items()]
    cli("grok", *flags, f"--out={base / 'cli'}", "--quiet")
    run = rfm.grok(**STANDARD, out=base / "py")
    return rfm.load_run(base / "cli"), run


@pytest.fixture
def in_tmp(tmp_path):
    """Runs the test in a fresh directory (for commands that write runs/ by default)."""
    old = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)

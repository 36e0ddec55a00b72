#!/usr/bin/env python3
"""Runs the shell commands of README.md and docs/*.md as written and fails if one fails.

A command is a line of a ```sh block (comments and blank lines aside), or a "$ " line of a
block whose other lines are the output shown. Lines ending in a backslash, and lines of a
command whose quotes or loop are still open, belong to that command. The blocks of one file
run in order in one scratch directory that holds links to the repository's top-level entries
(so build/rfm and scripts/ work, and runs/ is the scratch directory's own), with build/ on
PATH (so `rfm` is the built program); each block runs in one `bash -e -o pipefail`, with a
time limit. A block preceded by a line

    <!-- by hand: REASON -->

is listed as skipped with its reason: long reproductions (their reason says when they were
last run), commands that need the network or packages this suite does not install, and
interactive sessions. A "$ " command whose shown output starts with "rfm: error:" must fail.
Python blocks are not run here: python/tests runs those of
docs/python.md.

    scripts/check_docs.py [--list] [--timeout S] [FILE.md ...]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BY_HAND = re.compile(r"^<!--\s*by hand:\s*(.*?)\s*-->\s*$")


def fenced_blocks(path):
    """(line number, language, body lines, reason to skip or None) of each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, i = [], 0
    while i < len(lines):
        fence = re.match(r"^```(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        marker = BY_HAND.match(lines[i - 1]) if i > 0 else None
        blocks.append((i + 1, fence.group(1), lines[i + 1:end], marker and marker.group(1)))
        i = end + 1
    return blocks


def is_complete(command):
    """Whether bash would take the command as it stands (no open quote, loop or backslash)."""
    if command.endswith("\\"):
        return False
    check = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
    return not any(m in check.stderr for m in ("unexpected end of file", "unexpected EOF"))


def block_commands(language, body):
    """The commands of a block: every line of an sh block, the "$ " lines of an output block."""
    prompted = any(line.startswith("$ ") for line in body)
    if language not in ("sh", "") or (language == "" and not prompted):
        return []
    commands, k = [], 0
    while k < len(body):
        line = body[k]
        if prompted and not line.startswith("$ "):
            k += 1
            continue
        if not prompted and (not line.strip() or line.lstrip().startswith("#")):
            k += 1
            continue
        command = line[2:] if prompted else line
        while not is_complete(command) and k + 1 < len(body):
            k += 1
            command += "\n" + body[k]
        k += 1
        shown = body[k] if prompted and k < len(body) else ""
        if shown.startswith("rfm: error:"):  # the block shows the command failing
            command = f"if {command}; then echo 'expected: {shown[:40]}...'; exit 1; fi"
        commands.append(command)
    return commands


def scratch_dir():
    """A directory with links to the repository's top-level entries, runs/ excepted."""
    scratch = tempfile.mkdtemp(prefix="rfm-docs-")
    for name in os.listdir(ROOT):
        if name not in ("runs", ".git"):
            os.symlink(os.path.join(ROOT, name), os.path.join(scratch, name))
    return scratch


def run_file(path, timeout, listing):
    """Runs the blocks of one file; returns (ran, skipped, failures)."""
    ran, skipped, failures = 0, [], []
    scratch = None if listing else scratch_dir()
    env = dict(os.environ, PATH=os.path.join(ROOT, "build") + os.pathsep + os.environ["PATH"])
    rel = os.path.relpath(path, ROOT)
    try:
        for line, language, body, reason in fenced_blocks(path):
            commands = block_commands(language, body)
            if not commands:
                continue
            where = f"{rel}:{line}"
            if reason is not None:
                skipped.append(f"{where}: {reason}")
                continue
            if listing:
                print(f"{where}:\n  " + "\n  ".join(c.replace("\n", "\n  ") for c in commands))
                continue
            start = time.monotonic()
            script = "\n".join(commands) + "\n"
            try:
                done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script],
                                      cwd=scratch, env=env, capture_output=True, text=True,
                                      timeout=timeout)
                status, output = done.returncode, done.stdout + done.stderr
            except subprocess.TimeoutExpired as e:
                status = f"timed out after {timeout} s"
                output = (e.stdout or b"").decode(errors="replace") if isinstance(
                    e.stdout, bytes) else (e.stdout or "")
            seconds = time.monotonic() - start
            ran += 1
            if status == 0:
                print(f"check_docs: ok    {where} ({len(commands)} commands, {seconds:.1f} s)")
            else:
                tail = "\n    ".join(output.strip().split("\n")[-15:])
                failures.append(where)
                print(f"check_docs: FAIL  {where} (exit {status}):\n    "
                      + "\n    ".join(script.strip().split("\n")) + f"\n  output:\n    {tail}")
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return ran, skipped, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", help="markdown files (default: README.md docs/*.md)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per block (300)")
    parser.add_argument("--list", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args()
    files = args.files or [os.path.join(ROOT, "README.md")] + sorted(
        os.path.join(ROOT, "docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
        if f.endswith(".md"))
    ran, skipped, failures = 0, [], []
    for path in files:
        r, s, f = run_file(os.path.abspath(path), args.timeout, args.list)
        ran, skipped, failures = ran + r, skipped + s, failures + f
    for entry in skipped:
        print(f"check_docs: by hand  {entry}")
    print(f"check_docs: {ran} blocks run, {len(failures)} failed, {len(skipped)} left to run "
          "by hand")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

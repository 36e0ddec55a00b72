"""rfm.grok is `rfm grok`: the same bits, callbacks, KeyboardInterrupt and resume."""

import os
import signal
import threading

import numpy as np
import pytest

import rfm
from conftest import STANDARD

# Columns that measure time (different in every run); every other column must agree exactly.
TIMES = {"seconds", "solve_seconds", "agop_seconds", "wall_seconds", "time"}


def same_metrics(a, b):
    assert list(a) == list(b)
    for name in a:
        if name in TIMES or name.endswith("_seconds"):
            continue
        x, y = a[name], b[name]
        if x.dtype == object:
            assert list(x) == list(y), name
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)


def test_grok_is_the_command_line_bit_for_bit(standard_runs):
    cli_run, py_run = standard_runs
    same_metrics(cli_run.metrics, py_run.metrics)
    assert cli_run.M.dtype == np.float64 and cli_run.M.shape == (122, 122)
    assert cli_run.M.tobytes() == py_run.M.tobytes()
    np.testing.assert_array_equal(cli_run.split["train"], py_run.split["train"])
    assert py_run.summary["termination"] == "completed"
    # The standard experiment groks: perfect test accuracy at the end.
    assert py_run.metrics["test_acc"][-1] == 1.0
    assert py_run.config["p"] == 61 and py_run.command == "grok"


def test_run_object_and_pandas(standard_runs):
    pd = pytest.importorskip("pandas")
    _, run = standard_runs
    frame = run.to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(run.metrics["iter"])
    loaded = rfm.load_run(run.path)
    assert loaded.M.tobytes() == run.M.tobytes()


def test_callback_sees_every_iteration_and_can_stop(tmp_path):
    seen = []

    def callback(it, stats):
        seen.append((it, stats["test_acc"]))
        return it < 3  # False after iteration 3 stops the run

    run = rfm.grok(task="add", p=13, iters=10, out=tmp_path / "r", callback=callback)
    assert [it for it, _ in seen] == [0, 1, 2, 3]
    assert list(run.metrics["iter"]) == [0, 1, 2, 3]
    assert [acc for _, acc in seen] == list(run.metrics["test_acc"])


def test_keep_history(tmp_path):
    run = rfm.grok(task="add", p=13, iters=4, out=tmp_path / "r", keep_history=True)
    assert [t for t, _ in run.history] == [0, 1, 2, 3]
    assert all(M.shape == (26, 26) for _, M in run.history)


def test_keyboard_interrupt_then_resume_gives_the_uninterrupted_run(standard_runs, tmp_path):
    _, reference = standard_runs
    out = tmp_path / "interrupted"

    def callback(it, stats):
        if it == 5:  # Ctrl-C arrives while the engine computes iteration 6, without the GIL
            threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT)).start()

    with pytest.raises(KeyboardInterrupt):
        rfm.grok(**STANDARD, out=out, callback=callback)
    stopped = rfm.load_run(out)
    assert 6 <= len(stopped.metrics["iter"]) < STANDARD["iters"]
    assert os.path.isdir(out / "checkpoint")
    resumed = rfm.resume(out)
    same_metrics(reference.metrics, resumed.metrics)
    assert reference.M.tobytes() == resumed.M.tobytes()


def test_exception_in_callback_stops_and_is_raised(tmp_path):
    def callback(it, stats):
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        rfm.grok(task="add", p=13, iters=5, out=tmp_path / "r", callback=callback)
    assert len(rfm.load_run(tmp_path / "r").metrics["iter"]) == 1

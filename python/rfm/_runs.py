"""Run directories as Python objects: `Run` and `load_run`.

Every command of the engine writes a run directory (config.json, metrics.csv, summary.json,
split.npz and .npy matrices). `load_run` reads any of them, written by the command line or by
this package, into a `Run`.
"""

from __future__ import annotations

import csv
import json
import os
import re
from typing import Any, Dict, List, Optional

import numpy as np

# The feature matrix of each kind of run, in order of preference.
_MAIN_MATRIX = ("M_final", "NFM_final", "EmbedGram_final", "model_M")


def _column(values: List[str]):
    """One metrics.csv column: floats (empty cells as NaN) where every cell parses, else text."""
    try:
        return np.array([float(v) if v not in ("", "nan", "null") else np.nan for v in values])
    except ValueError:
        lowered = {v.lower() for v in values}
        if lowered <= {"true", "false", "0", "1"}:
            return np.array([v.lower() in ("true", "1") for v in values])
        return np.array(values, dtype=object)


def read_metrics(path: str) -> Dict[str, np.ndarray]:
    """metrics.csv (or summary.csv) as a dict of numpy columns, in the file's column order."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    return {name: _column([r[i] if i < len(r) else "" for r in body])
            for i, name in enumerate(header)}


def _read_json(path: str) -> Dict[str, Any]:
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


class Run:
    """A finished (or stopped) run of `rfm grok`, `rfm fit`, `rfm train` or `rfm sweep`.

    Attributes:
        path: the run directory.
        config: config.json, every option the run used.
        summary: summary.json (termination, final metrics, transition iterations, times).
        metrics: metrics.csv as a dict of numpy columns (`iter`, `train_acc`, `test_acc`, ...).
        M: the final feature matrix (M_final.npy; NFM_final.npy of an MLP run,
            EmbedGram_final.npy of a transformer run), or None.
        history: the matrices M_t kept by the run (`keep_history=True`, or --save-every),
            as a list of (iteration, matrix) pairs in iteration order.
        split: split.npz as a dict (`train`, `test` index arrays), empty when absent.
        arrays: every other .npy file of the directory by name (weights of neural runs, ...).
    """

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        if not os.path.isdir(self.path):
            raise ValueError(f"{path} is not a run directory")
        self.config = _read_json(os.path.join(self.path, "config.json"))
        self.summary = _read_json(os.path.join(self.path, "summary.json"))
        metrics = os.path.join(self.path, "metrics.csv")
        self.metrics = read_metrics(metrics) if os.path.exists(metrics) else {}
        if not (self.config or self.metrics):
            raise ValueError(f"{path} has neither config.json nor metrics.csv: not a run directory")
        self.arrays: Dict[str, np.ndarray] = {}
        kept = []
        for name in sorted(os.listdir(self.path)):
            if not name.endswith(".npy"):
                continue
            stem = name[:-4]
            match = re.fullmatch(r"M_(\d{4,})", stem)
            if match:
                kept.append((int(match.group(1)), os.path.join(self.path, name)))
            else:
                self.arrays[stem] = np.load(os.path.join(self.path, name))
        self.history = [(t, np.load(p)) for t, p in kept]
        self.M: Optional[np.ndarray] = next(
            (self.arrays[k] for k in _MAIN_MATRIX if k in self.arrays), None)
        split = os.path.join(self.path, "split.npz")
        self.split = dict(np.load(split)) if os.path.exists(split) else {}

    @property
    def command(self) -> str:
        """grok, fit or train (from config.json)."""
        return self.config.get("command", "")

    def to_pandas(self):
        """metrics as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.metrics)

    def __repr__(self) -> str:
        what = self.config.get("task", "")
        rows = len(next(iter(self.metrics.values()))) if self.metrics else 0
        term = self.summary.get("termination", "?")
        return f"Run({self.command} {what}, {rows} rows, {term}, {self.path!r})"


def load_run(path) -> Run:
    """Reads a run directory written by the `rfm` program or by this package."""
    return Run(os.fspath(path))

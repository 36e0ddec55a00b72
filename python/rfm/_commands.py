"""The engine's commands from Python: grok, resume, train, inspect, orbit_test, compare, report,
sweep.

Each runs the same code as the `rfm` subcommand of the same name, in this process (sweep, which
starts one process per run, uses the `rfm` program installed with the package). Keyword options
are the command line's options with `_` for `-`: `rfm.grok(agop_path="onehot")` is
`rfm grok --agop-path onehot`; True passes a flag, False and None leave it out, lists are joined
by commas. `rfm grok --help` (or `rfm.help("grok")`) lists every option with its default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, Optional

import numpy as np

from . import _core
from ._runs import Run, load_run, read_metrics

# Options whose values are on/off on the command line.
_ON_OFF = {"centering"}


def _flags(options: Dict[str, Any]) -> list:
    args = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            if key in _ON_OFF:
                args += [flag, "on" if value else "off"]
            elif value:
                args.append(flag)
            continue
        if isinstance(value, Run):
            value = value.path
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        args += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return args


def _path(run) -> str:
    """The directory of a Run, or a path as a string."""
    return run.path if isinstance(run, Run) else os.fspath(run)


def run_command(args, callback=None, capture=False) -> str:
    """Runs `rfm ARGS...` in this process and returns what it printed when capture is true.

    Raises ValueError with the command line's one-line error message when the command fails.
    """
    status, error, output = _core.run_cli([str(a) for a in args], callback, capture)
    if status != 0:
        raise ValueError(error or f"rfm {args[0]} ended with status {status}")
    return output


def help(command: str) -> None:  # noqa: A001 - the name of the command line's flag
    """Prints `rfm COMMAND --help`: every option with its default."""
    print(run_command([command, "--help"], capture=True), end="")


def _default_out(*parts) -> str:
    """runs/<parts>-<time>, as the command line names its run directories (made unique)."""
    stem = "-".join("".join(c if c.isalnum() else "_" for c in str(p)) for p in parts)
    base = os.path.join("runs", f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    out, k = base, 1
    while os.path.exists(out):
        out, k = f"{base}-{k}", k + 1
    return out


def _iteration_callback(callback: Optional[Callable]):
    if callback is None:
        return None

    def hook(stats_json: str) -> bool:
        stats = json.loads(stats_json)
        return callback(stats["iter"], stats) is not False

    return hook


def _note_resume(error: BaseException, out: str) -> None:
    if hasattr(error, "add_note"):
        error.add_note(f"rfm: the run directory {out} is resumable: rfm.resume({out!r})")


def _run_grok(args, out, callback) -> Run:
    try:
        # quiet: the summary line only, printed by Python so that a notebook shows it
        print(run_command(["grok", *args], callback=_iteration_callback(callback), capture=True),
              end="")
    except KeyboardInterrupt as e:
        _note_resume(e, out)
        raise
    return load_run(out)


def grok(task: str = "add", p: int = 61, frac: float = 0.5, kernel: str = "gaussian",
         iters: int = 50, seed: int = 0, out: Optional[str] = None,
         callback: Optional[Callable[[int, dict], Any]] = None, keep_history: bool = False,
         **options) -> Run:
    """RFM on a task and split, exactly as `rfm grok` runs it; returns the `Run`.

    Args:
        task: add, sub, mul, div, a polynomial in x and y ("x^2+y^2"), group (with
            group="3x7", "S4", "D5", ...), system, compose:OP1,OP2, or a comma list (multitask).
        p: the modulus. frac: training fraction. kernel: gaussian, gaussian-paper, laplace,
            quadratic. iters: RFM iterations. seed: seed of the split.
        out: the run directory (default runs/<task>-p<p>-<kernel>-<time>, as the command line).
        callback: callback(iteration, stats) after every iteration, with stats the row of
            metrics.csv as a dict; returning False stops the run (resumable).
        keep_history: keep M_t of every iteration (Run.history).
        **options: any other option of `rfm grok` (bandwidth=, ridge=, power=, centering=,
            precision=, split="degenerate", reflections=[0], device=, threads=, ...).

    KeyboardInterrupt (Ctrl-C) stops the run after the current iteration; its directory is then
    resumable with rfm.resume(out).
    """
    out = os.fspath(out) if out is not None else _default_out(task, f"p{p}", kernel)
    if keep_history:
        options.setdefault("save_every", 1)
    args = _flags(dict(task=task, p=p, frac=frac, kernel=kernel, iters=iters, seed=seed, out=out,
                       quiet=True, **options))
    return _run_grok(args, out, callback)


def resume(path, iters: Optional[int] = None, callback=None) -> Run:
    """Continues a stopped or interrupted grok run (`rfm grok --resume`), with the same results
    as an uninterrupted run; iters extends a completed one."""
    out = _path(path)
    return _run_grok(_flags(dict(resume=out, iters=iters, quiet=True)), out, callback)


def train(model: str = "mlp", out: Optional[str] = None, **options) -> Run:
    """A neural baseline, exactly as `rfm train` trains it; returns the `Run`, whose `arrays`
    hold the trained weights and feature matrices.

    Args:
        model: mlp, transformer or embed2d.
        out: the run directory (default runs/<task>-p<p>-<model>-<time>).
        **options: any option of `rfm train` (task=, p=, frac=, epochs=, split_from=run, ...);
            quiet=False prints the live table of the command line to standard output.
    """
    source = options.get("split_from")
    if source is not None:  # the split's own task and modulus, unless given
        config = load_run(_path(source)).config
        for key in ("task", "p"):
            if key in config:
                options.setdefault(key, config[key])
    out = os.fspath(out) if out is not None else _default_out(
        options.get("task", "add"), f"p{options.get('p', 61)}", model)
    # quiet (the default): the summary line only, printed by Python so that a notebook shows it.
    # quiet=False streams the live table to the process's standard output (a terminal).
    quiet = bool(options.setdefault("quiet", True))
    printed = run_command(["train", *_flags(dict(model=model, out=out, **options))],
                          capture=quiet)
    print(printed, end="")
    return load_run(out)


class Report(dict):
    """A JSON report as a dict whose keys are also attributes (report.d_alg)."""

    def __getattr__(self, name):
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        return Report(value) if isinstance(value, dict) else value


def _matrix_input(M, tmp: str) -> str:
    if isinstance(M, (Run, str, os.PathLike)):
        return _path(M)
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2:
        raise ValueError(f"the feature matrix must be 2-D, got shape {M.shape}")
    path = os.path.join(tmp, "M.npy")
    np.save(path, M)
    return path


def inspect(M, task: Optional[str] = None, p: Optional[int] = None,
            subgroup: Optional[str] = None, **options) -> Report:
    """The structure report of `rfm inspect` for a matrix, a run or an .npy path.

    Returns the report of `rfm inspect --json`: group coefficients alpha_g of the strongest
    elements, d_alg, d_comm, circulant deviations and Fourier spectra of the blocks, verdicts.
    task and p default to the run's config.json; options: group=, normalize=, top=, orbit=,
    png= (a directory for heatmaps), kernel=, bandwidth=, frac=, seed=.
    """
    with tempfile.TemporaryDirectory(prefix="rfm-inspect-") as tmp:
        source = _matrix_input(M, tmp)
        args = ["inspect", source, *_flags(dict(task=task, p=p, subgroup=subgroup, json=True,
                                                **options))]
        return Report(json.loads(run_command(args, capture=True)))


def orbit_test(M, reflection: int = 0, task: Optional[str] = None, p: Optional[int] = None,
               frac: float = 0.5, seed: int = 0, **options) -> Report:
    """Orbit test of `rfm inspect --orbit K`: fit with M on a random split and compare the
    correctly predicted test points with the reflections sr^K of training points."""
    report = inspect(M, task=task, p=p, orbit=reflection, frac=frac, seed=seed, **options)
    return Report(report["orbit"]) if "orbit" in report else report


def compare(rfm_run, neural_run, **options) -> Report:
    """`rfm compare` of two runs on one split: returns its numbers (the JSON of --out)."""
    with tempfile.TemporaryDirectory(prefix="rfm-compare-") as tmp:
        out = os.path.join(tmp, "compare.json")
        run_command(["compare", _path(rfm_run), _path(neural_run), *_flags(dict(out=out, **options))], capture=True)
        with open(out) as f:
            return Report(json.load(f))


def report(run, **options) -> str:
    """`rfm report`: curves, heatmaps and report.html in the run directory; returns the page."""
    path = _path(run)
    run_command(["report", path, *_flags(options)], capture=True)
    return os.path.join(path, "report.html")


def executable() -> str:
    """The `rfm` program installed with this package."""
    return os.path.join(os.path.dirname(__file__), "bin", "rfm")


class Sweep:
    """A finished sweep: its directory, summary.csv as numpy columns, and its runs."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self.summary = read_metrics(os.path.join(self.path, "summary.csv"))
        runs = os.path.join(self.path, "runs")
        self.runs = {name: load_run(os.path.join(runs, name))
                     for name in sorted(os.listdir(runs))} if os.path.isdir(runs) else {}

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.summary)

    def __repr__(self) -> str:
        return f"Sweep({len(self.runs)} runs, {self.path!r})"


def sweep(config, out: Optional[str] = None, jobs: int = 1, **options) -> Sweep:
    """`rfm sweep`: a grid of grok or train runs from a config (a dict or a JSON file path).

    out overrides the config's "out"; jobs runs at a time; the runs are resumable as with the
    command line (run the same sweep again to continue it).
    """
    with tempfile.TemporaryDirectory(prefix="rfm-sweep-") as tmp:
        if isinstance(config, dict):
            cfg = dict(config)
        else:
            with open(os.fspath(config)) as f:
                cfg = json.load(f)
        if out is not None:
            cfg["out"] = os.fspath(out)
        cfg.setdefault("out", _default_out("sweep"))
        path = os.path.join(tmp, "sweep.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        cmd = [executable(), "sweep", path, *_flags(dict(jobs=jobs, **options))]
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
            message = lines[-1] if lines else f"rfm sweep ended with status {done.returncode}"
            raise ValueError(message.removeprefix("rfm: error: ") if sys.version_info >= (3, 9)
                             else message)
        return Sweep(cfg["out"])

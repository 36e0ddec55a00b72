"""rfm: Recursive Feature Machines for grokking, from Python.

The same C++ engine as the `rfm` command line, in this process:

    import rfm
    run = rfm.grok(task="add", p=61, frac=0.5)     # exactly `rfm grok`
    run.metrics["test_acc"], run.M                  # numpy arrays
    rfm.inspect(run).verdicts                       # `rfm inspect --json`
    net = rfm.train(model="mlp", split_from=run)    # a neural baseline on the same split
    rfm.compare(run, net)

    clf = rfm.RFMClassifier().fit(X, y)             # scikit-learn estimators

The group analysis works on matrices held in Python without copying them:
group_coefficients, group_projection, group_info.
"""

from . import _core
from ._commands import (Report, Sweep, compare, executable, grok, help, inspect, orbit_test,
                        report, resume, run_command, sweep, train)
from ._runs import Run, load_run, read_metrics

__version__ = _core.version

__all__ = [
    "Run", "load_run", "read_metrics", "grok", "resume", "train", "inspect", "orbit_test",
    "compare", "report", "sweep", "Sweep", "Report", "help", "run_command", "executable",
    "group_coefficients", "group_projection", "group_info", "RFM", "RFMClassifier",
    "RFMRegressor",
]


def group_coefficients(M, task="add", p=61, group=""):
    """alpha_g = <M, R_g>_F / ||R_g||_F^2 for every element g of the task's dihedral group
    (rotations r^k first, then reflections sr^k; names in group_info(...)["names"]).

    M (2q, 2q), float64: read in place when Fortran-ordered (a symmetric M may be passed as
    M.T of a C-ordered array), converted otherwise."""
    return _core.group_coefficients(M, task, p, group)


def group_projection(alpha, task="add", p=61, group=""):
    """M^ = sum_g alpha_g R_g on the analysed coordinates (2n, 2n): the projection of M onto the
    group algebra when alpha = group_coefficients(M). Handed to numpy without a copy."""
    return _core.group_projection(alpha, task, p, group)


def group_info(task="add", p=61, group=""):
    """The task's dihedral group: element names, order, q and the analysed coordinates."""
    return _core.group_info(task, p, group)


def __getattr__(name):
    # The estimators import scikit-learn, which `import rfm` alone does not need.
    if name in ("RFM", "RFMClassifier", "RFMRegressor"):
        from . import estimator

        return getattr(estimator, name)
    raise AttributeError(f"module 'rfm' has no attribute {name!r}")

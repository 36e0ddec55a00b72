"""Bad input from Python raises ValueError with the command line's one-line message."""

import numpy as np
import pytest

import rfm
from conftest import cli_error


def message(call):
    with pytest.raises(ValueError) as error:
        call()
    return str(error.value)


@pytest.mark.parametrize("options", [
    dict(task="foo"),        # unknown task
    dict(task="add", p=12),  # p not prime where it must be
    dict(frac=1.5),          # fraction out of range
    dict(kernel="cosine"),   # unknown name
    dict(ridge=-1.0),        # value out of range
])
def test_grok_options(options, tmp_path):
    options = dict(dict(p=13, iters=2), **options)
    flags = [f"--{k}={v}" for k, v in options.items()]
    expected = cli_error("grok", *flags, "--out", tmp_path / "cli")
    assert message(lambda: rfm.grok(out=tmp_path / "py", **options)) == expected


def test_wrong_shape(tmp_path):
    M = np.zeros((5, 5))
    np.save(tmp_path / "M.npy", M)
    expected = cli_error("inspect", tmp_path / "M.npy", "--task", "add", "--p", 13)
    assert message(lambda: rfm.inspect(M, task="add", p=13)).endswith(
        expected.removeprefix(str(tmp_path / "M.npy")))
    # The array's name stands where the command line names the file.
    expected = expected.replace(str(tmp_path / "M.npy"), "M")
    assert message(lambda: rfm.group_coefficients(M, "add", 13)) == expected


def test_wrong_dimensions_and_dtype(tmp_path):
    for name, M in [("cube", np.zeros((2, 26, 26))), ("complex", np.zeros((26, 26), complex))]:
        path = tmp_path / f"{name}.npy"
        np.save(path, M)
        expected = cli_error("inspect", path, "--task", "add", "--p", 13)
        # The array's name stands where the command line names the file.
        expected = expected.replace(str(path), "M")
        assert message(lambda: rfm.group_coefficients(M, "add", 13)) == expected


def test_nan_in_training_data(tmp_path):
    X = np.ones((4, 3))
    X[1, 2] = np.nan
    y = np.array([0, 1, 0, 1])
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    expected = cli_error("fit", "--x", tmp_path / "X.npy", "--y", tmp_path / "y.npy",
                         "--out", tmp_path / "fit")
    expected = expected.replace(str(tmp_path / "X.npy"), "X")
    assert message(lambda: rfm.RFMClassifier().fit(X, y)) == expected
    assert message(lambda: rfm.RFMRegressor().fit(X, y.astype(float))) == expected


def test_wrong_number_of_coefficients():
    text = message(lambda: rfm.group_projection(np.zeros(5), "add", 13))
    assert text == "alpha has shape 5x1, expected 26 coefficients (one per group element)"


def test_unknown_task_in_the_analysis():
    expected = message(lambda: rfm.grok(task="foo", p=13, iters=1))
    assert expected.startswith("unknown task 'foo'")
    assert message(lambda: rfm.group_info("foo", 13)).startswith("unknown")


def test_not_a_run_directory(tmp_path):
    assert "not a run directory" in message(lambda: rfm.load_run(tmp_path))

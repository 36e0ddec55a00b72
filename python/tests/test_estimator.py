"""The scikit-learn estimators: scikit-learn's own estimator checks, and the model they fit."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import rfm
from conftest import cli

# No check of scikit-learn's is skipped or expected to fail (the two that pytest reports as
# skipped are scikit-learn's own array-API checks, which need SCIPY_ARRAY_API set).
SKIPPED = {}


@parametrize_with_checks([rfm.RFMClassifier(iters=2), rfm.RFMRegressor(iters=2)],
                         expected_failed_checks=lambda est: SKIPPED)
def test_sklearn_checks(estimator, check):
    check(estimator)


def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return train_test_split(X, y, test_size=0.25, random_state=0)


def test_classifier_is_rfm_fit(tmp_path):
    """The estimator keeps the model `rfm fit` saves for the same data and options."""
    Xa, Xb, ya, yb = breast_cancer()
    for name, a in dict(X=Xa, y=ya, Xv=Xb, yv=yb).items():
        np.save(tmp_path / f"{name}.npy", a)
    cli("fit", "--x", tmp_path / "X.npy", "--y", tmp_path / "y.npy", "--x-val",
        tmp_path / "Xv.npy", "--y-val", tmp_path / "yv.npy", "--kernel", "laplace",
        "--bandwidth", 10, "--ridge", 1e-3, "--iters", 5, "--standardize", "off", "--out",
        tmp_path / "fit", "--quiet")
    clf = rfm.RFMClassifier().fit(Xa, ya, X_val=Xb, y_val=yb)
    saved = np.load(tmp_path / "fit" / "model_M.npy")
    assert clf.M_.tobytes() == saved.tobytes()
    np.testing.assert_array_equal(clf.alpha_, np.load(tmp_path / "fit" / "model_alpha.npy"))
    assert clf.score(Xb, yb) > 0.95
    assert len(clf.metrics_["train_acc"]) == 5 and 0 <= clf.best_iter_ < 5


def test_float32_and_fortran_order_fit_the_same_model():
    Xa, Xb, ya, _ = breast_cancer()
    reference = rfm.RFMClassifier(iters=2).fit(Xa, ya)
    fortran = rfm.RFMClassifier(iters=2).fit(np.asfortranarray(Xa), ya)
    assert fortran.M_.tobytes() == reference.M_.tobytes()
    single = rfm.RFMClassifier(iters=2).fit(Xa.astype(np.float32), ya)
    expected = rfm.RFMClassifier(iters=2).fit(Xa.astype(np.float32).astype(np.float64), ya)
    assert single.M_.tobytes() == expected.M_.tobytes()
    assert reference.M_.flags.f_contiguous and not reference.M_.flags.owndata


def test_grid_search_in_a_pipeline():
    Xa, Xb, ya, yb = breast_cancer()
    grid = GridSearchCV(make_pipeline(StandardScaler(), rfm.RFMClassifier(iters=2)),
                        {"rfmclassifier__bandwidth": [1.0, 10.0]}, cv=3)
    grid.fit(Xa, ya)
    assert grid.best_params_["rfmclassifier__bandwidth"] in (1.0, 10.0)
    assert grid.score(Xb, yb) > 0.9


def test_regressor_and_history():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    y = np.sin(X[:, 0]) + 0.1 * X[:, 1]  # depends on two of five coordinates
    reg = rfm.RFMRegressor(iters=3, keep_history=True).fit(X[:150], y[:150])
    assert reg.score(X[150:], y[150:]) > 0.5
    assert len(reg.history_) == 3 and reg.history_[0].shape == (5, 5)
    np.testing.assert_array_equal(reg.history_[0], np.eye(5))  # M_0 = I
    # The learned M weighs the two relevant coordinates most.
    assert set(np.argsort(np.diag(reg.M_))[-2:]) == {0, 1}


def test_rfm_fit_defaults_beat_the_mean_on_diabetes(tmp_path):
    """`rfm fit` with its defaults on raw (unscaled) features and targets: a test R^2 above 0,
    the score of predicting the training mean (ridge 0, the old default, scored far below)."""
    X, y = load_diabetes(return_X_y=True)
    Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, random_state=0)
    for name, a in dict(X=Xa, y=ya, Xt=Xb).items():
        np.save(tmp_path / f"{name}.npy", a)
    cli("fit", "--x", tmp_path / "X.npy", "--y", tmp_path / "y.npy", "--out", tmp_path / "fit",
        "--quiet")
    cli("predict", tmp_path / "fit", "--x", tmp_path / "Xt.npy")
    pred = np.load(tmp_path / "fit" / "predictions.npy").reshape(-1)
    mean = np.mean((ya.mean() - yb) ** 2)
    assert np.mean((pred - yb) ** 2) < 0.8 * mean

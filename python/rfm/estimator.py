"""scikit-learn estimators: RFMClassifier and RFMRegressor (rfm.RFM is the classifier).

Both run the engine's RFM iteration (the same C++ code as `rfm fit`) on arrays in memory:
M_0 = I, then for each iteration a kernel solve with the current feature matrix M_t and the
update M_{t+1} = AGOP^power. With validation data (fit(X, y, X_val=, y_val=)) the iteration
that fits them best is kept, otherwise the last one; M_ and alpha_ are that iteration's model.
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from . import _core


# float64 and float32 pass as they are (C or Fortran order); NaN and Inf are left to the engine,
# which rejects them with the command line's message.
_ARRAYS = dict(dtype=(np.float64, np.float32), ensure_all_finite=False)


class _RFMBase(BaseEstimator):
    """Parameters shared by both estimators (each is a get_params/set_params parameter).

    Args:
        kernel: laplace exp(-d/L) (default, as xRFM), gaussian exp(-d^2/(2L^2)),
            gaussian-paper exp(-d^2/L), or quadratic (x^T M z)^2; d is the distance in M.
        bandwidth: L of the radial kernels.
        ridge: added to the kernel matrix's diagonal (0 interpolates).
        iters: RFM iterations.
        power: s in M = AGOP^s.
        centering: subtract the mean Jacobian before the outer products.
        normalize: "max" divides the AGOP by its largest entry, "none" does not.
        precision: auto (mixed where it pays: n >= 2048 and few outputs, else fp64), fp64,
            fp32 or mixed (fp32 factorisation refined to the fp64 residual).
        agop_samples: the AGOP over this many random training points (0: all).
        seed: seed of that subsample.
        device: cpu, cuda or auto.
        keep_history: keep M_t of every iteration in history_.
    """

    def __init__(self, kernel="laplace", bandwidth=10.0, ridge=1e-3, iters=5, power=0.5,
                 centering=True, normalize="none", precision="auto", agop_samples=0, seed=0,
                 device="cpu", keep_history=False):
        self.kernel = kernel
        self.bandwidth = bandwidth
        self.ridge = ridge
        self.iters = iters
        self.power = power
        self.centering = centering
        self.normalize = normalize
        self.precision = precision
        self.agop_samples = agop_samples
        self.seed = seed
        self.device = device
        self.keep_history = keep_history

    def _options(self):
        return dict(kernel=str(self.kernel), bandwidth=float(self.bandwidth),
                    ridge=float(self.ridge), iters=int(self.iters), power=float(self.power),
                    centering=bool(self.centering), normalize=str(self.normalize),
                    precision=str(self.precision), agop_samples=int(self.agop_samples),
                    seed=int(self.seed), device=str(self.device))

    def _fit(self, X, Y, X_val, Y_val, classification):
        fitted = _core.fit_model(X, Y, X_val, Y_val, classification, self._options(),
                                 bool(self.keep_history))
        self.M_ = fitted["M"]
        self.alpha_ = fitted["alpha"]
        self.X_fit_ = np.array(X, order="F", copy=True)
        self.best_iter_ = fitted["iteration"]
        rows = [json.loads(r) for r in fitted["rows"]]
        names = [k for k in rows[0] if k not in ("extra",)] if rows else []
        self.metrics_ = {k: np.array([np.nan if r.get(k) is None else r.get(k) for r in rows])
                         for k in names}
        self.history_ = fitted["history"]
        self.termination_ = fitted["termination"]
        return self

    def _decision(self, X):
        check_is_fitted(self, "M_")
        X = validate_data(self, X, reset=False, **_ARRAYS)
        return _core.predict(str(self.kernel), float(self.bandwidth), self.M_, self.alpha_,
                             self.X_fit_, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class RFMClassifier(ClassifierMixin, _RFMBase):
    """Recursive Feature Machine classifier: kernel regression on one-hot targets, the class
    with the largest output wins. Fitted: M_ (d, d), alpha_ (n, classes), classes_,
    best_iter_, metrics_ (train/val accuracy and mse per iteration), history_."""

    def fit(self, X, y, X_val=None, y_val=None):
        X, y = validate_data(self, X, y, **_ARRAYS)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        Y = self._one_hot(y)
        if X_val is not None:
            X_val = check_array(X_val, **_ARRAYS)
            Y_val = self._one_hot(column_or_1d(y_val))
        else:
            Y_val = None
        return self._fit(X, Y, X_val, Y_val, classification=True)

    def _one_hot(self, y):
        codes = self._encoder.transform(y)
        Y = np.zeros((len(codes), len(self.classes_)), order="F")
        Y[np.arange(len(codes)), codes] = 1.0
        return Y

    def decision_function(self, X):
        """The kernel machine's outputs (n, classes); for two classes, output 1 - output 0."""
        P = self._decision(X)
        return P[:, 1] - P[:, 0] if P.shape[1] == 2 else P

    def predict(self, X):
        P = self._decision(X)
        return self.classes_[np.argmax(P, axis=1)]


class RFMRegressor(RegressorMixin, _RFMBase):
    """Recursive Feature Machine regressor (one or several outputs). Fitted: M_ (d, d),
    alpha_ (n, outputs), best_iter_, metrics_, history_."""

    def fit(self, X, y, X_val=None, y_val=None):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, **_ARRAYS)
        self._one_output = y.ndim == 1
        Y = y.reshape(len(y), -1)
        if X_val is not None:
            X_val = check_array(X_val, **_ARRAYS)
            Y_val = np.asarray(y_val).reshape(len(X_val), -1)
        else:
            Y_val = None
        return self._fit(X, Y, X_val, Y_val, classification=False)

    def predict(self, X):
        P = self._decision(X)
        return P[:, 0] if self._one_output else P

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


RFM = RFMClassifier

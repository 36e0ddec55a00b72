"""rfm.RFMClassifier against xRFM (pip install xrfm) on two scikit-learn datasets.

    python bench/xrfm_compare.py [--repeats 5] [--threads 2]

Both learners get the same standardised split: 75 % train (of which 20 % is held out for
validation) and 25 % test, random_state 0. Rows:

  rfm defaults      RFMClassifier() with the validation data (Laplace, bandwidth 10, ridge 1e-3,
                    5 iterations, power 1/2; the best iteration on validation is kept)
  xRFM defaults     xRFM() with the validation data (on data this small the tree is one leaf:
                    Laplace 'l2_high_dim', bandwidth 10, ridge 1e-3, 5 iterations, best on
                    validation)
  xRFM matched      xRFM with rfm's settings: Laplace ('l2'), bandwidth 10, ridge 1e-3,
                    5 iterations, agop_power 1/2, best iteration on validation accuracy
  ... grid          bandwidth in 1, 3, 10, 30 chosen on validation accuracy, refit on train

Fit times are medians over --repeats fits on the CPU (torch and OpenBLAS limited to --threads).
"""

import argparse
import os
import statistics
import time

import numpy as np


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="fits per row (median time)")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for both learners")
    return ap.parse_args()


def datasets():
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    for name, load in (("breast_cancer", load_breast_cancer), ("digits", load_digits)):
        X, y = load(return_X_y=True)
        X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        X_tr, X_val, y_tr, y_val = train_test_split(X_rest, y_rest, test_size=0.2, random_state=0)
        scale = StandardScaler().fit(X_tr)
        yield name, [scale.transform(X_tr), y_tr, scale.transform(X_val), y_val,
                     scale.transform(X_test), y_test]


def rfm_model(bandwidth):
    import rfm

    def fit(X, y, Xv, yv):
        return rfm.RFMClassifier(bandwidth=bandwidth).fit(X, y, X_val=Xv, y_val=yv)
    return fit


def xrfm_model(bandwidth, matched):
    import torch
    from xrfm import xRFM

    def fit(X, y, Xv, yv):
        params = None
        if matched:
            params = {"model": {"kernel": "l2", "bandwidth": bandwidth, "exponent": 1.0,
                                "agop_power": 0.5, "diag": False, "bandwidth_mode": "constant"},
                      "fit": {"reg": 1e-3, "iters": 5, "return_best_params": True,
                              "early_stop_rfm": False}}
        model = xRFM(rfm_params=params, device=torch.device("cpu"), tuning_metric="accuracy",
                     verbose=False, random_state=0)
        as_t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        model.fit(as_t(X), torch.from_numpy(y.reshape(-1, 1)).long(), as_t(Xv),
                  torch.from_numpy(yv.reshape(-1, 1)).long())
        model.as_t = as_t
        return model
    return fit


def accuracy(model, X, y):
    if hasattr(model, "as_t"):
        pred = np.asarray(model.predict(model.as_t(X))).reshape(-1)
    else:
        pred = model.predict(X)
    return float(np.mean(pred == y))


def timed(fit, data, repeats):
    X, y, Xv, yv = data[:4]
    seconds, model = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        model = fit(X, y, Xv, yv)
        seconds.append(time.perf_counter() - t)
    return model, statistics.median(seconds)


def grid(make, data, repeats):
    """The bandwidth with the best validation accuracy; time = the whole search."""
    X, y, Xv, yv = data[:4]
    t = time.perf_counter()
    best = max((accuracy(make(b)(X, y, Xv, yv), Xv, yv), -b) for b in (1, 3, 10, 30))
    search = time.perf_counter() - t
    model, _ = timed(make(-best[1]), data, 1)
    return model, search, -best[1]


def main():
    args = parse()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import torch
    torch.set_num_threads(args.threads)
    rows = [("rfm defaults", lambda: rfm_model(10.0)),
            ("xRFM defaults", lambda: xrfm_model(10.0, matched=False)),
            ("xRFM matched", lambda: xrfm_model(10.0, matched=True))]
    print(f"{'dataset':14} {'learner':26} {'test acc':>8} {'fit s':>8}")
    for name, data in datasets():
        for label, make in rows:
            model, sec = timed(make(), data, args.repeats)
            print(f"{name:14} {label:26} {accuracy(model, *data[4:]):8.4f} {sec:8.3f}")
        for label, make in (("rfm grid", rfm_model), ("xRFM matched grid",
                                                      lambda b: xrfm_model(b, matched=True))):
            model, sec, bw = grid(make, data, args.repeats)
            print(f"{name:14} {label + f' (bw {bw:g})':26} {accuracy(model, *data[4:]):8.4f} "
                  f"{sec:8.3f}")


if __name__ == "__main__":
    main()

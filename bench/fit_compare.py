"""`rfm fit` against xRFM (pip install xrfm) on three scikit-learn datasets.

    python bench/fit_compare.py --rfm build/rfm [--repeats 5] [--threads 2] [--dir runs/fit-compare]

Each dataset is split 75 % train / 25 % test (random_state 0); of the train part 20 % is held
out for validation (random_state 0). Rows, each scored on the test part:

  rfm fit                 `rfm fit` with its defaults on the raw train part: it standardises,
                          holds out 20 % itself, chooses the iteration and ridge, refits on all
  rfm fit --x-val         the same defaults, validation = the held-out part above
  xRFM                    xRFM() with its defaults, on standardised data, the same validation
                          part (on data this small its tree is one leaf)

Metrics: accuracy (breast_cancer, digits); RMSE and R^2 (diabetes; R^2 = 0 is predicting the
mean). Times: fit seconds, medians over --repeats (rfm: summary.json's seconds, the process's
start-up excluded; xRFM: model.fit). Both limited to --threads CPU threads.
"""

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rfm", default="build/rfm", help="the rfm executable")
    ap.add_argument("--repeats", type=int, default=5, help="fits per row (median time)")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for both learners")
    ap.add_argument("--dir", default="runs/fit-compare", help="where the .npy files and runs go")
    return ap.parse_args()


def datasets():
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
    from sklearn.model_selection import train_test_split

    for name, load in (("breast_cancer", load_breast_cancer), ("digits", load_digits),
                       ("diabetes", load_diabetes)):
        X, y = load(return_X_y=True)
        X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        X_tr, X_val, y_tr, y_val = train_test_split(X_rest, y_rest, test_size=0.2, random_state=0)
        yield name, name != "diabetes", dict(X=X_rest, y=y_rest, X_tr=X_tr, y_tr=y_tr,
                                              X_val=X_val, y_val=y_val, X_test=X_test,
                                              y_test=y_test)


def score(pred, y, classification):
    if classification:
        return f"acc {np.mean(pred == y):.4f}"
    mse = np.mean((pred - y) ** 2)
    return f"rmse {np.sqrt(mse):.2f}, R^2 {1 - mse / np.var(y):.4f}"


def rfm_fit(args, folder, files, with_val):
    out = folder / ("fit-val" if with_val else "fit")
    cmd = [args.rfm, "fit", "--x", files["X_tr" if with_val else "X"],
           "--y", files["y_tr" if with_val else "y"], "--out", out, "--force", "--quiet",
           "--threads", args.threads]
    if with_val:
        cmd += ["--x-val", files["X_val"], "--y-val", files["y_val"]]
    seconds = []
    for _ in range(args.repeats):
        subprocess.run([str(c) for c in cmd], check=True, capture_output=True)
        seconds.append(json.loads((out / "summary.json").read_text())["seconds"])
    subprocess.run([args.rfm, "predict", out, "--x", files["X_test"]], check=True,
                   capture_output=True)
    pred = np.load(out / "predictions.npy")
    return pred.reshape(-1), statistics.median(seconds)


def xrfm_fit(args, data, classification):
    import torch
    from sklearn.preprocessing import StandardScaler
    from xrfm import xRFM

    scale = StandardScaler().fit(data["X_tr"])
    as_t = lambda a: torch.from_numpy(np.ascontiguousarray(scale.transform(a), dtype=np.float32))
    label = (lambda y: torch.from_numpy(y.reshape(-1, 1)).long()) if classification else \
        (lambda y: torch.from_numpy(y.reshape(-1, 1).astype(np.float32)))
    seconds, model = [], None
    for _ in range(args.repeats):
        model = xRFM(device=torch.device("cpu"), verbose=False, random_state=0,
                     tuning_metric="accuracy" if classification else "mse")
        t = time.perf_counter()
        model.fit(as_t(data["X_tr"]), label(data["y_tr"]), as_t(data["X_val"]),
                  label(data["y_val"]))
        seconds.append(time.perf_counter() - t)
    pred = np.asarray(model.predict(as_t(data["X_test"]))).reshape(-1)
    return pred, statistics.median(seconds)


def main():
    args = parse()
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    import torch
    torch.set_num_threads(args.threads)
    print(f"{'dataset':14} {'learner':16} {'test':>24} {'fit s':>7}")
    for name, classification, data in datasets():
        folder = Path(args.dir) / name
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        for key, a in data.items():
            files[key] = folder / f"{key}.npy"
            np.save(files[key], a.astype(np.float64))
        rows = [("rfm fit", lambda: rfm_fit(args, folder, files, False)),
                ("rfm fit --x-val", lambda: rfm_fit(args, folder, files, True)),
                ("xRFM", lambda: xrfm_fit(args, data, classification))]
        for label, run in rows:
            pred, sec = run()
            print(f"{name:14} {label:16} {score(pred, data['y_test'], classification):>24} "
                  f"{sec:7.3f}")


if __name__ == "__main__":
    main()

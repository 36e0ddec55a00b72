#!/usr/bin/env python3
"""Writes the NumPy-made reference fixtures in tests/data/ (small, seeded, each in its README).

Usage: python3 scripts/make_refs.py [OUT_DIR]   (default: tests/data beside this script)

Needs numpy only. Everything is deterministic: fixed values or a generator with a fixed seed,
and the .npz is written with a fixed timestamp, so rerunning gives byte-identical files.
tests/data/README.md records the numpy version and seed that made the committed files.

Sections:
  .npy fixtures (tests/test_npy.cpp): one small array per supported dtype, integer extremes,
  a random float64 array in C order, Fortran order and format versions 2.0 and 3.0, a 1-D
  array, and a deflated .npz like numpy.savez_compressed makes.
"""
import io
import os
import sys
import zipfile

import numpy as np

NPY_SEED = 20240601

# --- .npy fixtures --------------------------------------------------------------------------

# Each (2, 3) dtype fixture holds these values (cast to the dtype), so the C++ test can check
# M(i, j) == value[i][j] and so the C-order to column-major conversion.
SIGNED_VALUES = [[0, 1, -2], [3, -4, 5]]
UNSIGNED_VALUES = [[0, 1, 2], [3, 4, 5]]
BOOL_VALUES = [[True, False, True], [False, False, True]]

DTYPES = ["<f8", "<f4", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1"]


def dtype_values(descr):
    kind = np.dtype(descr).kind
    if kind == "b":
        return BOOL_VALUES
    return UNSIGNED_VALUES if kind == "u" else SIGNED_VALUES


def file_tag(descr):
    return np.dtype(descr).str[1:]  # "<f8" -> "f8", "|b1" -> "b1"


def save(out, name, array, version=None):
    with open(os.path.join(out, name), "wb") as f:
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)


def write_dtype_fixtures(out):
    for descr in DTYPES:
        a = np.array(dtype_values(descr), dtype=descr)
        save(out, "npy_%s.npy" % file_tag(descr), a)
    for descr in ["<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1"]:
        info = np.iinfo(np.dtype(descr))
        a = np.array([info.min, info.max], dtype=descr)
        save(out, "npy_ext_%s.npy" % file_tag(descr), a)


def write_layout_fixtures(out):
    rng = np.random.default_rng(NPY_SEED)
    a = rng.standard_normal((3, 4))
    save(out, "npy_rand_c.npy", a)
    save(out, "npy_rand_fortran.npy", np.asfortranarray(a))
    save(out, "npy_rand_v2.npy", a, version=(2, 0))
    save(out, "npy_rand_v3.npy", a, version=(3, 0))
    save(out, "npy_1d.npy", np.arange(5, dtype="<f8") * 1.5 - 2.0)
    print("npy_rand_c.npy values (for tests/test_npy.cpp):")
    for i, j in [(0, 0), (1, 2), (2, 3)]:
        print("  a[%d][%d] = %r" % (i, j, float(a[i, j])))


def write_npz_fixture(out):
    # What numpy.savez_compressed writes (deflated members), but with a fixed timestamp.
    members = {"train": np.array([0, 2, 4, 5], dtype="<i8"),
               "test": np.array([1, 3], dtype="<i8")}
    with zipfile.ZipFile(os.path.join(out, "npy_split.npz"), "w") as z:
        for name, array in members.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buf = io.BytesIO()
            np.lib.format.write_array(buf, array, allow_pickle=False)
            z.writestr(info, buf.getvalue())


def write_npy_fixtures(out):
    write_dtype_fixtures(out)
    write_layout_fixtures(out)
    write_npz_fixture(out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "data")
    os.makedirs(out, exist_ok=True)
    print("numpy %s, writing to %s" % (np.__version__, out))
    write_npy_fixtures(out)


if __name__ == "__main__":
    main()

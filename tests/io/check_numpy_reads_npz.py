#!/usr/bin/env python3
"""Checks that numpy.load opens an .npz archive svertka wrote, with the names, dtypes, shapes and values
expected (keep in step with sample() in tests/io/npz.cpp).

  check_numpy_reads_npz.py --run TEST_EXE
      run the test io_npz/written_file_for_numpy of TEST_EXE with SVERTKA_NPZ_OUT set to a fresh
      temporary folder, then check the svertka_written.npz it wrote there (the meson test's form).
  check_numpy_reads_npz.py PATH
      check an archive written by that test.

Exits 0 on success, 1 on a mismatch, 77 (meson's "skipped") when numpy is not installed.
"""

import os
import subprocess
import sys
import tempfile
import zipfile

try:
    import numpy as np
except ImportError:
    print("numpy is not installed: skipped")
    sys.exit(77)

EXPECTED = {
    "weights": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
    "bias": np.array([-1.5, 0.25]),
    "step": np.array(7, dtype=np.int64),
    "optimizer/exp_avg/0": np.full((2, 3), -0.125, dtype=np.float32),
    "labels": np.array([-1, 0, 2147483647], dtype=np.int32),
    "bytes": np.array([[0, 1], [254, 255]], dtype=np.uint8),
    "empty": np.zeros((0, 3), dtype=np.float32),
}


def check(path):
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
        assert bad is None, f"{path}: member {bad} fails its CRC"
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED, f"{info.filename}: compressed"
    with np.load(path, allow_pickle=False) as npz:
        assert list(npz.keys()) == list(EXPECTED), f"{path}: keys {list(npz.keys())}"
        for key, want in EXPECTED.items():
            got = npz[key]
            assert got.dtype == want.dtype, f"{key}: dtype {got.dtype}, expected {want.dtype}"
            assert got.shape == want.shape, f"{key}: shape {got.shape}, expected {want.shape}"
            assert np.array_equal(got, want), f"{key}: values {got}, expected {want}"
    print(f"numpy read {path}: {len(EXPECTED)} arrays with the expected names, dtypes, shapes and values")


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == "--run":
            with tempfile.TemporaryDirectory(prefix="svertka_npz_") as out:
                env = dict(os.environ, SVERTKA_NPZ_OUT=out)
                subprocess.run([argv[2], "--run_test=io_npz/written_file_for_numpy", "--log_level=warning"],
                               env=env, check=True)
                check(os.path.join(out, "svertka_written.npz"))
        elif len(argv) == 2:
            check(argv[1])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (AssertionError, subprocess.CalledProcessError, zipfile.BadZipFile) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

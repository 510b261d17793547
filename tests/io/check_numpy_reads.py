#!/usr/bin/env python3
"""Checks that numpy reads an .npy file svertka wrote, with the dtype, shape and values expected.

Two ways to run it:

  check_numpy_reads.py PATH FORMULA
      load PATH with numpy.load and compare it with the array FORMULA names (see FORMULAS).

  check_numpy_reads.py --run TEST_EXE
      run the C++ test io_npy/written_file_for_numpy of TEST_EXE (the svertka_tests executable)
      with SVERTKA_NPY_OUT set to a fresh temporary folder, then check the svertka_written_f32.npy
      it wrote there against the formula 'f32_2x3x4_centered_div8'. This is the form the meson test
      uses: it needs no ordering between tests.

Exits 0 on success, 1 on a mismatch, 77 (meson's "skipped") when numpy is not installed.
"""

import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("numpy is not installed: skipped")
    sys.exit(77)

# Keep in step with the test written_file_for_numpy in tests/io/npy.cpp.
FORMULAS = {
    "f32_2x3x4_centered_div8": lambda: (np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 12) / 8,
}
WRITTEN_NAME = "svertka_written_f32.npy"
WRITTEN_FORMULA = "f32_2x3x4_centered_div8"
WRITER_TEST = "io_npy/written_file_for_numpy"


def check_layout(path):
    """Format version 1.0 and data starting at a multiple of 64 bytes, as svertka promises."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        assert version == (1, 0), f"{path}: format version {version}, expected (1, 0)"
        np.lib.format.read_array_header_1_0(f)
        assert f.tell() % 64 == 0, f"{path}: data starts at byte {f.tell()}, not a multiple of 64"


def check(path, formula):
    expected = FORMULAS[formula]()
    got = np.load(path, allow_pickle=False)
    assert got.dtype == expected.dtype, f"{path}: dtype {got.dtype}, expected {expected.dtype}"
    assert got.shape == expected.shape, f"{path}: shape {got.shape}, expected {expected.shape}"
    assert np.array_equal(got, expected), f"{path}: values differ:\n{got}\nexpected\n{expected}"
    check_layout(path)
    print(f"numpy read {path} as {formula}: dtype {got.dtype}, shape {got.shape}, values equal")


def run_writer(test_exe):
    with tempfile.TemporaryDirectory(prefix="svertka_npy_") as out:
        env = dict(os.environ, SVERTKA_NPY_OUT=out)
        subprocess.run([test_exe, f"--run_test={WRITER_TEST}", "--log_level=warning"], env=env, check=True)
        path = os.path.join(out, WRITTEN_NAME)
        assert os.path.exists(path), f"{test_exe} did not write {path}"
        check(path, WRITTEN_FORMULA)


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == "--run":
            run_writer(argv[2])
        elif len(argv) == 3 and argv[2] in FORMULAS:
            check(argv[1], argv[2])
        else:
            print(__doc__, file=sys.stderr)
            print(f"formulas: {', '.join(FORMULAS)}", file=sys.stderr)
            return 2
    except (AssertionError, subprocess.CalledProcessError) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
"""Cuts the Fashion-MNIST subset shipped in tests/data/fashion-mnist-subset from Debian's files.

  /usr/bin/python3 tests/data/make_fmnist_subset.py [SOURCE_DIR]

SOURCE_DIR defaults to /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist). The subset is
the FIRST 1000 images and labels of the training set and the FIRST 1000 of the test set, written in the
same IDX format and with the same file names (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz), gzip level 9 with mtime 0 and no file name in
the gzip header, so the output is byte-for-byte deterministic. About 0.8 MB in all.

The tests (tests/datasets/idx.cpp) check the counts, the label histogram of the first 1000 training
labels and a few pixel values printed below.
"""

import gzip
import io
import sys
from pathlib import Path

import numpy as np

COUNT = 1000
HERE = Path(__file__).resolve().parent
OUT = HERE / "fashion-mnist-subset"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return data[:4], dims, np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def write_idx(path, magic, array):
    header = magic + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as f:
        f.write(header + array.tobytes())
    path.write_bytes(buf.getvalue())


def main():
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/usr/share/datasets/fashion-mnist")
    OUT.mkdir(exist_ok=True)
    for split in ("train", "t10k"):
        for kind, rank in (("images", 3), ("labels", 1)):
            name = f"{split}-{kind}-idx{rank}-ubyte.gz"
            magic, dims, array = read_idx(src / name)
            assert magic == bytes([0, 0, 8, rank]), f"{name}: unexpected magic {magic!r}"
            subset = np.ascontiguousarray(array[:COUNT])
            write_idx(OUT / name, magic, subset)
            if kind == "labels":
                print(f"{name}: {COUNT} labels, histogram {np.bincount(subset, minlength=10).tolist()}")
            else:
                print(f"{name}: {subset.shape}, sum {int(subset.astype(np.int64).sum())}, "
                      f"[0, 14, 14] = {subset[0, 14, 14]}, [999, 27, 27] = {subset[999, 27, 27]}")


if __name__ == "__main__":
    main()

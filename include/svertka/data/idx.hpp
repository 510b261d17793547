#ifndef SVERTKA_DATA_IDX_HPP
#define SVERTKA_DATA_IDX_HPP
//! @file
//! Reading IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed, and Fashion-MNIST itself.
//!
//! An IDX file is: two zero bytes, a type byte (0x08: unsigned byte — the only type these data sets
//! use and the only one read here), the number of dimensions r, then r big-endian 32-bit sizes, then
//! the data in row-major order. Images are rank-3 files [N, rows, cols] (magic 0x00000803), labels
//! rank-1 [N] (magic 0x00000801). Files are read through zlib, so `.gz` and uncompressed files
//! both work, whatever their name.
//!
//! Errors throw `svertka::io::IoError` naming the function, the file and the numbers involved: a
//! missing file, a wrong magic number, a truncated file or corrupt gzip stream, bytes after the data,
//! a count mismatch between images and labels.

#include <cstdint>
#include <filesystem>

#include "svertka/core/io_error.hpp"
#include "svertka/core/tensor.hpp"
#include "svertka/data/dataset.hpp"

namespace svertka::data {

//! Any unsigned-byte IDX file, with the shape its header gives.
Tensor<std::uint8_t> read_idx(const std::filesystem::path& path);

//! A rank-3 image file as [N, 1, rows, cols] bytes.
Tensor<std::uint8_t> read_idx_images_u8(const std::filesystem::path& path);
//! A rank-3 image file as [N, 1, rows, cols] floats in [0, 1] (byte / 255, as torchvision's ToTensor).
Tensor<float> read_idx_images(const std::filesystem::path& path);
//! A rank-1 label file as [N] int64.
Tensor<std::int64_t> read_idx_labels(const std::filesystem::path& path);

//! Images and labels from two files, checked to hold the same number of objects.
Dataset read_idx_dataset(const std::filesystem::path& images, const std::filesystem::path& labels);

//! Fashion-MNIST's training set (60000) and test set (10000).
struct FashionMnist {
  Dataset train;
  Dataset test;
};

//! Where Debian's `dataset-fashion-mnist` package installs the files: /usr/share/datasets/fashion-mnist.
std::filesystem::path default_fashion_mnist_dir();

//! True when `dir` holds the four files (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`,
//! `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`).
bool has_fashion_mnist(const std::filesystem::path& dir = default_fashion_mnist_dir());

//! Loads the four files from `dir` (each with or without `.gz`). The shipped test subset
//! `tests/data/fashion-mnist-subset` has the same layout.
FashionMnist fashion_mnist(const std::filesystem::path& dir = default_fashion_mnist_dir());

}  // namespace svertka::data

#endif  // SVERTKA_DATA_IDX_HPP

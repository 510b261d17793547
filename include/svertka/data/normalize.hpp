#ifndef SVERTKA_DATA_NORMALIZE_HPP
#define SVERTKA_DATA_NORMALIZE_HPP
//! @file
//! Normalisation of images: x ← (x − mean) / std, with the statistics of a training set.

#include "svertka/core/tensor.hpp"

namespace svertka::data {

//! A mean and a standard deviation.
struct MeanStd {
  double mean;
  double std;
};

//! The mean and the (population) standard deviation of all values of `x`, summed in double in a
//! fixed order (the same result at any thread count). Fashion-MNIST's training set gives about
//! {0.2860, 0.3530}.
//! @throws OptionError if `x` has no elements.
MeanStd mean_std(const Tensor<float>& x);

//! x ← (x − s.mean) / s.std in place (torchvision's Normalize with one channel).
//! @throws OptionError if s.std is not > 0 or either value is not finite.
void normalize(Tensor<float>& x, MeanStd s);

}  // namespace svertka::data

#endif  // SVERTKA_DATA_NORMALIZE_HPP

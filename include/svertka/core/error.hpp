#ifndef SVERTKA_CORE_ERROR_HPP
#define SVERTKA_CORE_ERROR_HPP
//! @file
//! The two exception types every public entry of svertka throws for bad user input.

#include <stdexcept>
#include <string>

namespace svertka {

//! A tensor has the wrong rank or size for an operation. The message names the op, the argument and
//! both sizes, e.g. `matmul: inner dimensions differ (a: [2,3], b: [4,5])`.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

//! An option or hyper-parameter is out of its domain (a stride of 0, a negative learning rate, ...),
//! or an engine is used the wrong way (backward twice on a freed graph, ...).
class OptionError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace svertka

#endif  // SVERTKA_CORE_ERROR_HPP

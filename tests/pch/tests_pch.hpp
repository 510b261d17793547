// Precompiled for the test executable: Boost.Test and the whole public API.
#include <boost/test/unit_test.hpp>

#include "svertka/svertka.hpp"

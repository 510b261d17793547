// The test executable's module: every tests/<folder>/<file>.cpp adds its suites to it.
#define BOOST_TEST_MODULE svertka
#include <boost/test/unit_test.hpp>

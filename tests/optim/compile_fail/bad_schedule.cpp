// A "schedule" without operator()(t): SGD must say so in one sentence.
#include "svertka/optim/sgd.hpp"

struct Rate {
  double rate = 0.1;  // a number, not a callable
};

int main() {
  svertka::optim::SGD opt{Rate{}};
  (void)opt;
}

// Warmup around something that is not a schedule: one sentence.
#include "svertka/optim/schedules.hpp"

int main() {
  svertka::optim::Warmup w{.warmup_steps = 3, .after = 0.1};
  (void)w;
}

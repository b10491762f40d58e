// Measures exp_approx and tanh_approx against double-precision libm over every float in the
// ranges the kernel uses, in ulp of the float result. Prints one line per function.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "../kernels/fastmath.h"

namespace {

double ulp_of(double exact) {
  const float f = static_cast<float>(exact);
  if (f == 0) return std::ldexp(1.0, -149);
  return std::nextafter(std::fabs(f), INFINITY) - std::fabs(f);
}

template <typename Approx, typename Exact>
void measure(const char* name, float lo, float hi, Approx approx, Exact exact) {
  double worst = 0, at = 0;
  uint64_t count = 0;
  for (float x = lo; x <= hi; x = std::nextafter(x, INFINITY)) {
    const double e = exact(static_cast<double>(x));
    const double error = std::fabs(static_cast<double>(approx(x)) - e) / ulp_of(e);
    if (error > worst) {
      worst = error;
      at = x;
    }
    ++count;
  }
  std::printf("%s on [%g, %g]: max error %.2f ulp at x = %.9g (%llu floats)\n", name, lo, hi, worst, at,
              static_cast<unsigned long long>(count));
}

}  // namespace

int main() {
  measure("exp_approx", -87.0f, 88.0f, rnn::exp_approx, [](double x) { return std::exp(x); });
  measure("tanh_approx", -10.0f, 10.0f, rnn::tanh_approx, [](double x) { return std::tanh(x); });
  return 0;
}

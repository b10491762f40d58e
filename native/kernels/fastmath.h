// Branch-free float exp and tanh that compilers vectorize, for the kernel's element-wise loops
// (libm's scalar expf/tanhf took a quarter of an update's time). Accuracy, measured over every
// float in the kernel's range by native/bench/fastmath_accuracy.cc (see docs/performance.md):
// exp_approx within 2 ulp of the exact value, tanh_approx within 3 ulp.
#pragma once

#include <cstdint>
#include <cstring>

// Hot loops get an AVX-512 and an AVX2 version next to the baseline one, chosen at load time
// (GCC's function multiversioning), so one binary is both portable and fast.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RNN_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RNN_VECTOR_CLONES
#endif

namespace rnn {

inline float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t float_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// e^x for x in [-87, 88] (clamped outside: e^-87 ≈ 1.6e-38 stands in for anything smaller).
// x = n·ln2 + r with |r| ≤ ln2/2; e^r by its Taylor polynomial to r^7 (truncation < 6e-9
// relative); 2^n built in the exponent bits.
inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // Adding 1.5·2^23 rounds to an integer, which then sits in the low bits of the sum: n comes
  // out as a float and as an integer without a float-to-int conversion.
  const float round_magic = 12582912.0f;
  const float shifted = x * 1.44269504088896341f + round_magic;
  const float n = shifted - round_magic;
  const uint32_t n_bits = float_to_bits(shifted) - float_to_bits(round_magic);
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;  // ln2 = hi + lo
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * bits_to_float((n_bits + 127u) << 23);
}

// tanh(x): for |x| < 0.5 its odd Taylor series to x^15 (the next term is < 5e-9); above,
// 1 − 2/(e^{2|x|} + 1) with the sign of x, saturating at |x| = 9 (tanh 9 rounds to 1).
inline float tanh_approx(float x) {
  const float ax = x < 0 ? -x : x;
  const float x2 = x * x;
  float s = -929569.0f / 638512875.0f;
  s = s * x2 + 21844.0f / 6081075.0f;
  s = s * x2 - 1382.0f / 155925.0f;
  s = s * x2 + 62.0f / 2835.0f;
  s = s * x2 - 17.0f / 315.0f;
  s = s * x2 + 2.0f / 15.0f;
  s = s * x2 - 1.0f / 3.0f;
  const float small = x + x * x2 * s;
  const float clamped = ax > 9.0f ? 9.0f : ax;
  const float large = 1.0f - 2.0f / (exp_approx(2.0f * clamped) + 1.0f);
  const float signed_large = x < 0 ? -large : large;
  return ax < 0.5f ? small : signed_large;
}

}  // namespace rnn

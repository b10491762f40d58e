#include "model.h"

#include "fastmath.h"

#include "blas.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#ifndef __wasi__
#include <thread>
#endif
#include <tuple>

namespace rnn {

int gates(Cell cell) { return cell == Cell::Rnn ? 1 : (cell == Cell::Lstm ? 4 : 3); }

std::vector<Parameter> layout(const Shape& s) {
  const int G = gates(s.cell), m = s.hidden;
  std::vector<Parameter> table;
  for (int l = 0; l < s.layers; ++l) {
    const std::string prefix = "layers." + std::to_string(l) + ".";
    table.push_back({prefix + "Wx", {G * m, l == 0 ? s.vocab : m}, 0, 0});
    table.push_back({prefix + "Wh", {G * m, m}, 0, 0});
    table.push_back({prefix + "b", {G * m}, 0, 0});
  }
  table.push_back({"V", {s.vocab, m}, 0, 0});
  table.push_back({"c", {s.vocab}, 0, 0});
  size_t offset = 0;
  for (Parameter& p : table) {
    p.offset = offset;
    p.length = 1;
    for (int d : p.shape) p.length *= static_cast<size_t>(d);
    offset += p.length;
  }
  return table;
}

uint64_t parameter_count(const Shape& s) {
  const uint64_t G = gates(s.cell), m = s.hidden, K = s.vocab, L = s.layers;
  return G * m * K + (L - 1) * G * m * m + L * (G * m * m + G * m) + K * m + K;
}

uint64_t scratch_floats(const Shape& s, uint64_t B, uint64_t T) {
  const uint64_t G = gates(s.cell), m = s.hidden, K = s.vocab, L = s.layers, N = T * B;
  const uint64_t states = (T + 1) * B * m;
  const bool lstm = s.cell == Cell::Lstm, gru = s.cell == Cell::Gru;
  const uint64_t per_layer = states * (lstm ? 2 : 1) + N * G * m + (gru ? N * m : 0) + 2 * N * m;
  return L * per_layer + B * G * m + N * K + N * G * m * (gru ? 2 : 1) + 2 * N * m + 2 * B * m;
}

namespace {

// The finaliser of MurmurHash3, as lib/model/reference.ts mix32.
uint32_t mix32(uint32_t x) {
  x = (x ^ (x >> 16)) * 0x85ebca6bu;
  x = (x ^ (x >> 13)) * 0xc2b2ae35u;
  return x ^ (x >> 16);
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

// The 24 bits of one unit's uniform, from the hash of its row (all words but the unit).
inline uint32_t dropout_unit_bits(uint32_t row_hash, uint32_t unit) {
  return mix32((row_hash ^ unit) + 0x9e3779b9u) >> 8;
}

// One row of a mask and of the dropped output: a unit is dropped when its uniform k / 2^24 is
// below p, that is when k < ⌈p·2^24⌉ (an integer compare, so the loop vectorizes).
RNN_VECTOR_CLONES void mask_row(int m, uint32_t row_hash, uint32_t threshold, float scale,
                                const float* __restrict h, float* __restrict mask,
                                float* __restrict out) {
  for (int j = 0; j < m; ++j) {
    mask[j] = dropout_unit_bits(row_hash, static_cast<uint32_t>(j)) < threshold ? 0.0f : scale;
    out[j] = h[j] * mask[j];
  }
}

// The cells' element-wise steps for one stream, forward (a: the pre-activations, replaced by
// the gates; hp: the hidden products) and backward (dh, dc: carried in and out).
// rnn and lstm: a holds the whole pre-activation (the hidden products were added by the
// step's multiply); gru keeps them apart (hp), as its n gate scales them by r.
RNN_VECTOR_CLONES void rnn_forward(int m, float* __restrict a, float* __restrict h) {
  for (int j = 0; j < m; ++j) {
    a[j] = tanh_approx(a[j]);
    h[j] = a[j];
  }
}

RNN_VECTOR_CLONES void lstm_forward(int m, float* __restrict a, const float* __restrict c_prev,
                                    float* __restrict c, float* __restrict h) {
  for (int j = 0; j < m; ++j) {
    const float i = sigmoid(a[j]);
    const float f = sigmoid(a[m + j]);
    const float o = sigmoid(a[2 * m + j]);
    const float g = tanh_approx(a[3 * m + j]);
    a[j] = i;
    a[m + j] = f;
    a[2 * m + j] = o;
    a[3 * m + j] = g;
    c[j] = f * c_prev[j] + i * g;
    h[j] = o * tanh_approx(c[j]);
  }
}

RNN_VECTOR_CLONES void gru_forward(int m, float* __restrict a, const float* __restrict hp,
                                   const float* __restrict h_prev, float* __restrict hhn,
                                   float* __restrict h) {
  for (int j = 0; j < m; ++j) {
    const float r = sigmoid(a[j] + hp[j]);
    const float z = sigmoid(a[m + j] + hp[m + j]);
    const float n = tanh_approx(a[2 * m + j] + r * hp[2 * m + j]);
    a[j] = r;
    a[m + j] = z;
    a[2 * m + j] = n;
    hhn[j] = hp[2 * m + j];
    h[j] = (1.0f - z) * n + z * h_prev[j];
  }
}

RNN_VECTOR_CLONES void rnn_backward(int m, const float* __restrict above, float* __restrict dh,
                                    const float* __restrict h, float* __restrict dpre) {
  for (int j = 0; j < m; ++j) {
    dpre[j] = (above[j] + dh[j]) * (1.0f - h[j] * h[j]);
    dh[j] = 0.0f;
  }
}

RNN_VECTOR_CLONES void lstm_backward(int m, const float* __restrict above, float* __restrict dh,
                                     float* __restrict dc, const float* __restrict a,
                                     const float* __restrict c, const float* __restrict c_prev,
                                     float* __restrict dpre) {
  for (int j = 0; j < m; ++j) {
    const float i = a[j], f = a[m + j], o = a[2 * m + j], g = a[3 * m + j];
    const float dht = above[j] + dh[j];
    const float tc = tanh_approx(c[j]);
    const float dC = dc[j] + dht * o * (1.0f - tc * tc);
    dpre[j] = dC * g * i * (1.0f - i);
    dpre[m + j] = dC * c_prev[j] * f * (1.0f - f);
    dpre[2 * m + j] = dht * tc * o * (1.0f - o);
    dpre[3 * m + j] = dC * i * (1.0f - g * g);
    dc[j] = dC * f;
    dh[j] = 0.0f;
  }
}

// dhid: dPre except the n block, where it is dA·r (the gradient of Wh_n h').
RNN_VECTOR_CLONES void gru_backward(int m, const float* __restrict above, float* __restrict dh,
                                    const float* __restrict a, const float* __restrict h_prev,
                                    const float* __restrict hhn, float* __restrict dpre,
                                    float* __restrict dhid) {
  for (int j = 0; j < m; ++j) {
    const float r = a[j], z = a[m + j], n = a[2 * m + j];
    const float dht = above[j] + dh[j];
    const float dA = dht * (1.0f - z) * (1.0f - n * n);
    const float dr = dA * hhn[j] * r * (1.0f - r);
    const float dz = dht * (h_prev[j] - n) * z * (1.0f - z);
    dpre[j] = dhid[j] = dr;
    dpre[m + j] = dhid[m + j] = dz;
    dpre[2 * m + j] = dA;
    dhid[2 * m + j] = dA * r;
    dh[j] = dht * z;
  }
}

RNN_VECTOR_CLONES void exp_shifted(float* __restrict o, int K, float max) {
  for (int k = 0; k < K; ++k) o[k] = exp_approx(o[k] - max);
}

RNN_VECTOR_CLONES void scale_row(float* __restrict o, int K, float factor) {
  for (int k = 0; k < K; ++k) o[k] *= factor;
}

// Turns a row of logits into probabilities times `scale` in place; returns log p[target]
// (the exps in one vectorized pass, their sum in double).
double softmax_row(float* o, int K, int32_t target, double scale) {
  const float max = *std::max_element(o, o + K);
  const double shifted_target = static_cast<double>(o[target]) - max;
  exp_shifted(o, K, max);
  double sum = 0;
  for (int k = 0; k < K; ++k) sum += o[k];
  scale_row(o, K, static_cast<float>(scale / sum));
  return shifted_target - std::log(sum);
}

RNN_VECTOR_CLONES void add_into(size_t n, float* __restrict out, const float* __restrict row) {
  for (size_t k = 0; k < n; ++k) out[k] += row[k];
}

RNN_VECTOR_CLONES void sum_of(int n, float* __restrict out, const float* __restrict a,
                              const float* __restrict b) {
  for (int k = 0; k < n; ++k) out[k] = a[k] + b[k];
}

// Σ over the rows of an n × width block, into out (width).
void column_sums(const float* block, size_t n, int width, float* out) {
  std::fill(out, out + width, 0.0f);
  for (size_t r = 0; r < n; ++r) add_into(width, out, block + r * width);
}

// out (cols × rows) = in (rows × cols)ᵀ.
void transpose(const float* in, int rows, int cols, float* out) {
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < cols; ++k) out[static_cast<size_t>(k) * rows + r] = in[static_cast<size_t>(r) * cols + k];
}

}  // namespace

uint32_t dropout_row_hash(int64_t seed, int64_t update, uint32_t layer, uint32_t t,
                          uint32_t stream) {
  // JS: seed | 0 and word >>> 0 keep the low 32 bits; Math.floor(x / 2^32) is the arithmetic
  // shift (floor division, also for negative seeds).
  const uint32_t words[6] = {static_cast<uint32_t>(static_cast<uint64_t>(seed >> 32)),
                             static_cast<uint32_t>(static_cast<uint64_t>(update)),
                             static_cast<uint32_t>(static_cast<uint64_t>(update >> 32)),
                             layer, t, stream};
  uint32_t h = mix32(static_cast<uint32_t>(static_cast<uint64_t>(seed)));
  for (uint32_t word : words) h = mix32((h ^ word) + 0x9e3779b9u);
  return h;
}

double dropout_uniform(int64_t seed, int64_t update, uint32_t layer, uint32_t t, uint32_t stream,
                       uint32_t unit) {
  return dropout_unit_bits(dropout_row_hash(seed, update, layer, t, stream), unit) *
         (1.0 / 16777216.0);
}

namespace {

// Clip to [−clip, clip]; a NaN gradient stays NaN, as in lib/model/optimizers.ts.
inline float clipped(float raw, float clip) { return raw > clip ? clip : (raw < -clip ? -clip : raw); }

// One loop per rule, so that each vectorizes.
RNN_VECTOR_CLONES void adagrad_portable(size_t n, float* __restrict params,
                                        const float* __restrict grads, float* __restrict second,
                                        float eta, float epsilon, float clip) {
  for (size_t j = 0; j < n; ++j) {
    const float g = clipped(grads[j], clip);
    second[j] += g * g;
    params[j] -= eta * g / std::sqrt(second[j] + epsilon);
  }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define RNN_AVX512_ADAGRAD 1
// The same with AVX-512, 1/√(G + ε) by rsqrt14 and one Newton step (within about 2 ulp) instead of
// a square root and a division: the compiler does not do this without -ffast-math, which would
// also let it drop the NaN-keeping clip. Twice as fast as the portable loop (PERFORMANCE.md).
// GCC 12 warns that the intrinsics' own _mm512_undefined_ps may be used uninitialized (GCC bug
// 105593); it is not.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) void adagrad_avx512(size_t n, float* params, const float* grads,
                                                       float* second, float eta, float epsilon,
                                                       float clip) {
  const __m512 hi = _mm512_set1_ps(clip), lo = _mm512_set1_ps(-clip);
  const __m512 rate = _mm512_set1_ps(eta), eps = _mm512_set1_ps(epsilon);
  const __m512 half = _mm512_set1_ps(0.5f), three_halves = _mm512_set1_ps(1.5f);
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    __m512 g = _mm512_loadu_ps(grads + j);
    g = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(g, hi, _CMP_GT_OQ), g, hi);  // NaN: neither
    g = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(g, lo, _CMP_LT_OQ), g, lo);
    const __m512 a = _mm512_fmadd_ps(g, g, _mm512_loadu_ps(second + j));
    _mm512_storeu_ps(second + j, a);
    const __m512 x = _mm512_add_ps(a, eps);
    __m512 r = _mm512_rsqrt14_ps(x);
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(_mm512_mul_ps(half, x), _mm512_mul_ps(r, r), three_halves));
    _mm512_storeu_ps(params + j, _mm512_fnmadd_ps(_mm512_mul_ps(rate, g), r, _mm512_loadu_ps(params + j)));
  }
  adagrad_portable(n - j, params + j, grads + j, second + j, eta, epsilon, clip);
}
#pragma GCC diagnostic pop
#endif

void adagrad(size_t n, float* params, const float* grads, float* second, float eta, float epsilon,
             float clip) {
#ifdef RNN_AVX512_ADAGRAD
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) return adagrad_avx512(n, params, grads, second, eta, epsilon, clip);
#endif
  adagrad_portable(n, params, grads, second, eta, epsilon, clip);
}

RNN_VECTOR_CLONES void rmsprop(size_t n, float* __restrict params, const float* __restrict grads,
                               float* __restrict second, float eta, float epsilon, float clip,
                               float decay, float keep) {
  for (size_t j = 0; j < n; ++j) {
    const float g = clipped(grads[j], clip);
    second[j] = decay * second[j] + keep * g * g;
    params[j] -= eta * g / (std::sqrt(second[j]) + epsilon);
  }
}

RNN_VECTOR_CLONES void adam(size_t n, float* __restrict params, const float* __restrict grads,
                            float* __restrict second, float* __restrict first, float eta,
                            float epsilon, float clip, float beta1, float keep1, float beta2,
                            float keep2, float correction1, float correction2) {
  for (size_t j = 0; j < n; ++j) {
    const float g = clipped(grads[j], clip);
    first[j] = beta1 * first[j] + keep1 * g;
    second[j] = beta2 * second[j] + keep2 * g * g;
    const float m_hat = first[j] / correction1, v_hat = second[j] / correction2;
    params[j] -= eta * m_hat / (std::sqrt(v_hat) + epsilon);
  }
}

}  // namespace

void optimize(const OptimizerSettings& o, size_t n, float* params, const float* grads,
              float* second, float* first, double step) {
  const auto f = [](double x) { return static_cast<float>(x); };
  switch (o.kind) {
    case OptimizerKind::Adagrad:
      return adagrad(n, params, grads, second, o.eta, o.epsilon, o.clip);
    case OptimizerKind::Rmsprop:
      return rmsprop(n, params, grads, second, o.eta, o.epsilon, o.clip, f(o.decay), f(1.0 - o.decay));
    case OptimizerKind::Adam:
      // The bias corrections in double from the step count, as lib/model/optimizers.ts.
      return adam(n, params, grads, second, first, o.eta, o.epsilon, o.clip, f(o.beta1),
                  f(1.0 - o.beta1), f(o.beta2), f(1.0 - o.beta2), f(1.0 - std::pow(o.beta1, step)),
                  f(1.0 - std::pow(o.beta2, step)));
  }
}

Model::Model(const Shape& s, int streams, int seq_length, int first_stream, int block_streams)
    : s_(s),
      G_(gates(s.cell)),
      B_(streams),
      T_max_(seq_length),
      first_stream_(first_stream),
      block_streams_(block_streams > 0 ? block_streams : streams),
      layout_(layout(s)) {
  const size_t B = streams, T = seq_length, N = T * B, m = s.hidden, L = s.layers,
               G = G_, K = s.vocab;
  const bool lstm = s.cell == Cell::Lstm, gru = s.cell == Cell::Gru;
  state_stride_ = (T + 1) * B * m;
  gate_stride_ = N * G * m;
  unit_stride_ = N * m;
  H_.assign(L * state_stride_, 0.0f);
  C_.assign(lstm ? L * state_stride_ : 0, 0.0f);
  gates_.assign(L * gate_stride_, 0.0f);
  hhn_.assign(gru ? L * unit_stride_ : 0, 0.0f);
  mask_.assign(L * unit_stride_, 0.0f);
  dropped_.assign(L * unit_stride_, 0.0f);
  hp_.assign(B * G * m, 0.0f);
  P_.assign(N * K, 0.0f);
  dpre_.assign(N * G * m, 0.0f);
  dhid_.assign(gru ? N * G * m : 0, 0.0f);
  d_above_.assign(N * m, 0.0f);
  d_below_.assign(N * m, 0.0f);
  dh_.assign(B * m, 0.0f);
  dc_.assign(B * m, 0.0f);
  weights_.assign(K, 0.0);
}

namespace {

// The only call into BLAS of this file (the model's multiplies and their timing alike). A product
// of one row (a step of one stream) goes to sgemv: OpenBLAS's sgemm packs all of op(B) for it,
// which made one stream 2.8 times slower than the vanilla kernel's sgemv (docs/performance.md).
void sgemm(const Matmul& g, const float* A, const float* B, float* C) {
  if (g.M == 1 && !g.trans_a) {  // c (N) = op(B)ᵀ a, op(B) being K × N
    if (g.trans_b) return blas::sgemv(blas::NoTrans, g.N, g.K, 1.0f, B, g.ldb, A, g.beta, C);
    return blas::sgemv(blas::Trans, g.K, g.N, 1.0f, B, g.ldb, A, g.beta, C);
  }
  blas::sgemm(blas::Transpose(g.trans_a), blas::Transpose(g.trans_b), g.M, g.N, g.K, 1.0f, A,
              g.lda, B, g.ldb, g.beta, C, g.ldc);
}

}  // namespace

// The one door to BLAS: every multiply of the model, so that matmul_plan sees exactly what runs.
void Model::gemm(bool trans_a, bool trans_b, int M, int N, int K, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
  const Matmul g{trans_a, trans_b, M, N, K, lda, ldb, ldc, beta};
  if (matmul_log_ != nullptr) matmul_log_->push_back(g);
  sgemm(g, A, B, C);
}

// The layer's output as the next layer (or V) sees it: dropped, or the states h_1..h_T.
const float* Model::layer_output(int l, bool dropped) const {
  return dropped ? dropped_.data() + l * unit_stride_
                 : H_.data() + l * state_stride_ + static_cast<size_t>(B_) * s_.hidden;
}

void Model::forward(const int32_t* x, int T, double dropout, int64_t seed, int64_t update) {
  const size_t m = s_.hidden, Bm = static_cast<size_t>(B_) * m, N = static_cast<size_t>(T) * B_;
  const bool lstm = s_.cell == Cell::Lstm;
  const float scale = static_cast<float>(1.0 / (1.0 - dropout));
  dropping_ = dropout > 0;
  for (int l = 0; l < s_.layers; ++l) {
    float* H = H_.data() + l * state_stride_;
    std::memcpy(H, h_ + l * Bm, sizeof(float) * Bm);
    if (lstm) std::memcpy(C_.data() + l * state_stride_, c_ + l * Bm, sizeof(float) * Bm);
    layer_forward(l, l == 0 ? x : nullptr, T);
    std::memcpy(h_ + l * Bm, H + T * Bm, sizeof(float) * Bm);
    if (lstm) std::memcpy(c_ + l * Bm, C_.data() + l * state_stride_ + T * Bm, sizeof(float) * Bm);
    if (dropping_) {
      // k / 2^24 < p  ⇔  k < ⌈p·2^24⌉ for an integer k (p·2^24 is exact in double).
      const uint32_t threshold = static_cast<uint32_t>(std::ceil(dropout * 16777216.0));
      for (size_t row = 0; row < N; ++row) {
        const uint32_t t = static_cast<uint32_t>(row / B_),
                       b = static_cast<uint32_t>(first_stream_ + row % B_);
        mask_row(static_cast<int>(m), dropout_row_hash(seed, update, static_cast<uint32_t>(l), t, b),
                 threshold, scale, H + Bm + row * m, mask_.data() + l * unit_stride_ + row * m,
                 dropped_.data() + l * unit_stride_ + row * m);
      }
    }
  }
}

// Input projections of all T steps (layer 0: a gather of Wx columns), then the recurrence.
void Model::layer_forward(int l, const int32_t* x, int T) {
  const int m = s_.hidden, Gm = G_ * m;
  const size_t N = static_cast<size_t>(T) * B_;
  float* A = gates_.data() + l * gate_stride_;
  const float* Wx = params_ + layout_[3 * l].offset;
  const float* bias = params_ + layout_[3 * l + 2].offset;
  if (l == 0) {
    gather_inputs(x, N, A);
  } else {
    for (size_t row = 0; row < N; ++row) std::memcpy(A + row * Gm, bias, sizeof(float) * Gm);
    gemm(false, true, static_cast<int>(N), Gm, m, layer_output(l - 1, dropping_), m, Wx, m, 1.0f,
         A, Gm);
  }
  for (int t = 0; t < T; ++t) cell_forward(l, t);
}

// Wx (G·m × K) is read and written by columns for layer 0; a block of at least K rows pays for
// a transposed copy with contiguous rows. It lives in d_below_ when that holds G·m·K floats
// (d_below_ is written only by the backward pass of layers ≥ 1, so it is free here).
float* Model::transposed_scratch(size_t N) {
  const size_t floats = static_cast<size_t>(G_) * s_.hidden * s_.vocab;
  return N >= static_cast<size_t>(s_.vocab) && d_below_.size() >= floats ? d_below_.data() : nullptr;
}

// Layer 0's pre-activations Wx·onehot(x) + b: column x of Wx, plus b.
void Model::gather_inputs(const int32_t* x, size_t N, float* A) {
  const int Gm = G_ * s_.hidden, K = s_.vocab;
  const float* Wx = params_ + layout_[0].offset;
  const float* bias = params_ + layout_[2].offset;
  float* WxT = transposed_scratch(N);
  if (WxT != nullptr) transpose(Wx, Gm, K, WxT);
  for (size_t row = 0; row < N; ++row) {
    float* a = A + row * Gm;
    if (WxT != nullptr) {
      sum_of(Gm, a, bias, WxT + static_cast<size_t>(x[row]) * Gm);
    } else {
      for (int r = 0; r < Gm; ++r) a[r] = bias[r] + Wx[static_cast<size_t>(r) * K + x[row]];
    }
  }
}

// dWx of layer 0: dWx[:, x] += dPre, row by row.
void Model::scatter_input_gradients(const int32_t* x, size_t N) {
  const int Gm = G_ * s_.hidden, K = s_.vocab;
  float* gWx = grads_ + layout_[0].offset;
  float* dWxT = transposed_scratch(N);
  float* target = dWxT != nullptr ? dWxT : gWx;
  std::fill(target, target + layout_[0].length, 0.0f);
  for (size_t row = 0; row < N; ++row) {
    const float* d = dpre_.data() + row * Gm;
    if (dWxT != nullptr) {
      add_into(Gm, dWxT + static_cast<size_t>(x[row]) * Gm, d);
    } else {
      for (int r = 0; r < Gm; ++r) gWx[static_cast<size_t>(r) * K + x[row]] += d[r];
    }
  }
  if (dWxT != nullptr) transpose(dWxT, K, Gm, gWx);
}

void Model::cell_forward(int l, int t) {
  const int m = s_.hidden, Gm = G_ * m, B = B_;
  const size_t Bm = static_cast<size_t>(B) * m;
  const float* H = H_.data() + l * state_stride_;
  const float* h_prev = H + t * Bm;
  float* h_next = H_.data() + l * state_stride_ + (t + 1) * Bm;
  float* A = gates_.data() + l * gate_stride_ + static_cast<size_t>(t) * B * Gm;
  // The hidden products of all gates of all streams in one multiply: (B × m)·(m × G·m), added
  // to the pre-activations in place (gru: apart, in hp).
  const bool apart = s_.cell == Cell::Gru;
  gemm(false, true, B, Gm, m, h_prev, m, params_ + layout_[3 * l + 1].offset, m, apart ? 0.0f : 1.0f,
       apart ? hp_.data() : A, Gm);
  for (int b = 0; b < B; ++b) {
    float* a = A + static_cast<size_t>(b) * Gm;
    const float* hp = hp_.data() + static_cast<size_t>(b) * Gm;
    const float* hb = h_prev + static_cast<size_t>(b) * m;
    float* h = h_next + static_cast<size_t>(b) * m;
    switch (s_.cell) {
      case Cell::Rnn:
        rnn_forward(m, a, h);
        break;
      case Cell::Lstm: {
        const size_t at = static_cast<size_t>(b) * m;
        float* C = C_.data() + l * state_stride_;
        lstm_forward(m, a, C + t * Bm + at, C + (t + 1) * Bm + at, h);
        break;
      }
      case Cell::Gru:
        gru_forward(m, a, hp, hb, hhn_.data() + l * unit_stride_ + (static_cast<size_t>(t) * B + b) * m, h);
        break;
    }
  }
}

// P (N × K) = top (N × m) · Vᵀ + c: the logits of the whole block in one multiply.
void Model::logits(int T) {
  const int m = s_.hidden, K = s_.vocab, N = T * B_;
  const float* c = params_ + layout_[3 * s_.layers + 1].offset;
  for (int row = 0; row < N; ++row) std::memcpy(P_.data() + static_cast<size_t>(row) * K, c, sizeof(float) * K);
  gemm(false, true, N, K, m, layer_output(s_.layers - 1, dropping_), m,
       params_ + layout_[3 * s_.layers].offset, m, 1.0f, P_.data(), K);
}

double Model::forward_backward(const int32_t* x, const int32_t* y, int T, bool gradients,
                               double dropout, int64_t seed, int64_t update) {
  const int m = s_.hidden, K = s_.vocab, L = s_.layers, N = T * B_;
  forward(x, T, dropout, seed, update);
  logits(T);
  double loss = 0;
  const double per_stream = 1.0 / block_streams_;
  for (int row = 0; row < N; ++row) {
    float* p = P_.data() + static_cast<size_t>(row) * K;
    loss -= softmax_row(p, K, y[row], per_stream);  // p / B
    if (gradients) p[y[row]] -= static_cast<float>(per_stream);  // dL/do = (p − onehot(y)) / B
  }
  loss /= block_streams_;
  if (!gradients) return loss;

  // Output layer: dV = Pᵀ · top, dc = Σ rows, d(top) = P · V, back through top's mask.
  const float* top = layer_output(L - 1, dropping_);
  const size_t V = layout_[3 * L].offset, c = layout_[3 * L + 1].offset;
  gemm(true, false, K, m, N, P_.data(), K, top, m, 0.0f, grads_ + V, m);
  column_sums(P_.data(), N, K, grads_ + c);
  gemm(false, false, N, m, K, P_.data(), K, params_ + V, m, 0.0f, d_above_.data(), m);
  if (dropping_) {
    const float* mask = mask_.data() + (L - 1) * unit_stride_;
    for (size_t i = 0; i < static_cast<size_t>(N) * m; ++i) d_above_[i] *= mask[i];
  }
  // Layer by layer from the top: layer l at step t needs only layer l + 1 at step t and
  // layer l at step t + 1, so each layer's full BPTT can run before the one below.
  for (int l = L - 1; l >= 0; --l) {
    layer_backward(l, x, T);
    std::swap(d_above_, d_below_);
  }
  return loss;
}

void Model::layer_backward(int l, const int32_t* x, int T) {
  const int m = s_.hidden, Gm = G_ * m, N = T * B_;
  std::fill(dh_.begin(), dh_.end(), 0.0f);
  std::fill(dc_.begin(), dc_.end(), 0.0f);
  for (int t = T - 1; t >= 0; --t) cell_backward(l, t);

  const Parameter &Wx = layout_[3 * l], &Wh = layout_[3 * l + 1], &b = layout_[3 * l + 2];
  const float* d_hidden = s_.cell == Cell::Gru ? dhid_.data() : dpre_.data();
  // dWh = dHiddenᵀ · [h_0 .. h_{T−1}], db = Σ dPre, over the whole block.
  gemm(true, false, Gm, m, N, d_hidden, Gm, H_.data() + l * state_stride_, m, 0.0f,
       grads_ + Wh.offset, m);
  column_sums(dpre_.data(), N, Gm, grads_ + b.offset);
  if (l == 0) return scatter_input_gradients(x, N);  // one-hot inputs
  float* gWx = grads_ + Wx.offset;
  const float* input = layer_output(l - 1, dropping_);
  gemm(true, false, Gm, m, N, dpre_.data(), Gm, input, m, 0.0f, gWx, m);
  // The gradient into the layer below: dX = dPre · Wx, back through its mask.
  gemm(false, false, N, m, Gm, dpre_.data(), Gm, params_ + Wx.offset, m, 0.0f, d_below_.data(),
       m);
  if (dropping_) {
    const float* mask = mask_.data() + (l - 1) * unit_stride_;
    for (size_t i = 0; i < static_cast<size_t>(N) * m; ++i) d_below_[i] *= mask[i];
  }
}

// One step backward for all streams: from dL/dh_t = d_above + dh (carried) and dc, dPre of the
// step (gru: and its dHidden block), then dh, dc carried into step t − 1.
void Model::cell_backward(int l, int t) {
  const int m = s_.hidden, Gm = G_ * m, B = B_;
  const size_t Bm = static_cast<size_t>(B) * m, first_row = static_cast<size_t>(t) * B;
  const float* H = H_.data() + l * state_stride_;
  for (int b = 0; b < B; ++b) {
    const size_t row = first_row + b;
    const float* above = d_above_.data() + row * m;
    const float* a = gates_.data() + l * gate_stride_ + row * Gm;
    float* dpre = dpre_.data() + row * Gm;
    float* dh = dh_.data() + static_cast<size_t>(b) * m;
    float* dc = dc_.data() + static_cast<size_t>(b) * m;
    const size_t at = static_cast<size_t>(b) * m;
    switch (s_.cell) {
      case Cell::Rnn:
        rnn_backward(m, above, dh, H + (t + 1) * Bm + at, dpre);
        break;
      case Cell::Lstm: {
        const float* C = C_.data() + l * state_stride_;
        lstm_backward(m, above, dh, dc, a, C + (t + 1) * Bm + at, C + t * Bm + at, dpre);
        break;
      }
      case Cell::Gru:
        gru_backward(m, above, dh, a, H + t * Bm + at, hhn_.data() + l * unit_stride_ + row * m,
                     dpre, dhid_.data() + row * Gm);
        break;
    }
  }
  // dh_{t−1} += dHidden_t (B × G·m) · Wh (G·m × m); nothing needs it below step 0.
  if (t == 0) return;
  const float* d_hidden = (s_.cell == Cell::Gru ? dhid_.data() : dpre_.data()) + first_row * Gm;
  gemm(false, false, B, m, Gm, d_hidden, Gm, params_ + layout_[3 * l + 1].offset, m, 1.0f,
       dh_.data(), m);
}

void Model::advance(const int32_t* x, size_t n) {
  for (size_t i = 0; i < n; ++i) forward(x + i, 1, 0.0, 0, 0);
}

void Model::log_probs(int32_t x, double* out) {
  const int K = s_.vocab;
  forward(&x, 1, 0.0, 0, 0);
  logits(1);
  const double max = *std::max_element(P_.data(), P_.data() + K);
  double sum = 0;
  for (int k = 0; k < K; ++k) sum += std::exp(P_[k] - max);
  const double log_sum = std::log(sum);
  for (int k = 0; k < K; ++k) out[k] = P_[k] - max - log_sum;
}

namespace {

inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

// xoshiro128** (Blackman & Vigna); lib/util/random.ts implements the same generator.
uint32_t next_u32(uint32_t s[4]) {
  const uint32_t result = rotl(s[1] * 5, 7) * 9;
  const uint32_t t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result;
}

// A uniform double in [0, 1) with 24 random bits, exact in float32 and float64.
double next_uniform(uint32_t s[4]) { return (next_u32(s) >> 8) * (1.0 / 16777216.0); }

// The logit of symbol k after the repetition penalty (seen: counts in the window, or null).
double penalized(const float* o, int k, const SamplingRules& r, const int32_t* seen) {
  const double v = o[k];
  if (seen == nullptr || seen[k] == 0) return v;
  return v > 0 ? v / r.repetition_penalty : v * r.repetition_penalty;
}

// Keeps the weights of top_k, then top_p, then min_p (SamplingRules): the others become 0.
// `order` (K) is scratch; ties rank the lower symbol id first.
void filter(double* w, int K, const SamplingRules& r, int32_t* order) {
  const bool top_k = r.top_k > 0 && r.top_k < K, top_p = r.top_p < 1;
  if (top_k || top_p) {
    for (int k = 0; k < K; ++k) order[k] = k;
    std::stable_sort(order, order + K, [&](int32_t a, int32_t b) { return w[a] > w[b]; });
    int keep = top_k ? r.top_k : K;
    if (top_p) {
      double total = 0, cumulative = 0;
      for (int i = 0; i < keep; ++i) total += w[order[i]];
      int i = 0;
      while (i < keep && cumulative < r.top_p * total) cumulative += w[order[i++]];
      keep = std::max(i, 1);
    }
    for (int i = keep; i < K; ++i) w[order[i]] = 0;
  }
  if (r.min_p > 0) {
    const double most = *std::max_element(w, w + K);
    for (int k = 0; k < K; ++k)
      if (w[k] < r.min_p * most) w[k] = 0;
  }
}

// One symbol from logits o (K) by the rules: the first k whose cumulative weight exceeds
// u · Σ weights, with weights = exp((o − max) / temperature) (in `weights`, K doubles) and u
// from the generator; temperature 0 takes the argmax. lib/model/reference.ts draw is the same.
int32_t draw(const float* o, int K, const SamplingRules& r, const int32_t* seen, uint32_t rng[4],
             double* weights, int32_t* order) {
  if (seen == nullptr || r.repetition_penalty == 1) {
    if (r.temperature == 0) return static_cast<int32_t>(std::max_element(o, o + K) - o);
    // As without rules, bit for bit: the float difference, then the division in double.
    const float max = *std::max_element(o, o + K);
    for (int k = 0; k < K; ++k) weights[k] = std::exp((o[k] - max) / r.temperature);
  } else {
    int best = 0;
    for (int k = 1; k < K; ++k)
      if (penalized(o, k, r, seen) > penalized(o, best, r, seen)) best = k;
    if (r.temperature == 0) return best;
    const double max = penalized(o, best, r, seen);
    for (int k = 0; k < K; ++k) weights[k] = std::exp((penalized(o, k, r, seen) - max) / r.temperature);
  }
  filter(weights, K, r, order);
  double sum = 0;
  for (int k = 0; k < K; ++k) sum += weights[k];
  const double u = next_uniform(rng) * sum;
  double cumulative = 0;
  for (int k = 0; k < K; ++k) {
    cumulative += weights[k];
    if (u < cumulative) return k;
  }
  return K - 1;
}

}  // namespace

void Model::sample(int32_t first, const SamplingRules& rules, const int32_t* recent,
                   size_t recent_length, uint32_t rng[4], int32_t* out, size_t n) {
  const int K = s_.vocab;
  const size_t window = static_cast<size_t>(std::max(rules.repetition_window, 0));
  const bool penalty = rules.repetition_penalty != 1 && window > 0;
  // The window slides over recent, then the drawn symbols: seen_ counts each symbol in it.
  std::vector<int32_t> text;
  if (penalty) {
    seen_.assign(K, 0);
    text.assign(recent + (recent_length > window ? recent_length - window : 0), recent + recent_length);
    for (int32_t symbol : text) ++seen_[symbol];
  }
  order_.resize(K);
  size_t oldest = 0;
  int32_t x = first;
  for (size_t i = 0; i < n; ++i) {
    forward(&x, 1, 0.0, 0, 0);
    logits(1);
    x = draw(P_.data(), K, rules, penalty ? seen_.data() : nullptr, rng, weights_.data(), order_.data());
    out[i] = x;
    if (!penalty) continue;
    text.push_back(x);
    ++seen_[x];
    if (text.size() - oldest > window) --seen_[text[oldest++]];
  }
}

namespace {

// Part p of `parts` near-equal contiguous groups of B streams: its first stream and its count.
std::pair<int, int> part_streams(int B, int parts, int p) {
  const int base = B / parts, extra = B % parts;
  return {p * base + std::min(p, extra), base + (p < extra ? 1 : 0)};
}

// A part's rows [first, first + count) of each of `blocks` blocks of `rows` rows of `width`
// values (states [l][b][j], symbols [t][b]): gathered from the whole, or scattered back to it.
template <typename V>
void gather_rows(const V* whole, V* part, int blocks, int rows, int first, int count, size_t width) {
  for (int k = 0; k < blocks; ++k)
    std::memcpy(part + static_cast<size_t>(k) * count * width,
                whole + (static_cast<size_t>(k) * rows + first) * width, sizeof(V) * count * width);
}

template <typename V>
void scatter_rows(const V* part, V* whole, int blocks, int rows, int first, int count, size_t width) {
  for (int k = 0; k < blocks; ++k)
    std::memcpy(whole + (static_cast<size_t>(k) * rows + first) * width,
                part + static_cast<size_t>(k) * count * width, sizeof(V) * count * width);
}

}  // namespace

uint64_t SplitModel::scratch_floats(const Shape& s, uint64_t B, uint64_t T, uint64_t parts) {
  uint64_t total = 0;
  for (uint64_t p = 0; p < parts; ++p) {
    const uint64_t count = static_cast<uint64_t>(part_streams(static_cast<int>(B), static_cast<int>(parts), static_cast<int>(p)).second);
    total += rnn::scratch_floats(s, count, T);
    if (parts > 1) total += 2 * static_cast<uint64_t>(s.layers) * count * s.hidden + 2 * T * count;
    if (p > 0) total += parameter_count(s);
  }
  return total;
}

SplitModel::SplitModel(const Shape& s, int streams, int seq_length, int parts) : s_(s), B_(streams) {
  parts_.resize(static_cast<size_t>(parts));
  for (int p = 0; p < parts; ++p) {
    Part& part = parts_[static_cast<size_t>(p)];
    std::tie(part.first, part.count) = part_streams(streams, parts, p);
    part.model = std::make_unique<Model>(s, part.count, seq_length, part.first, streams);
    if (parts == 1) break;  // the caller's buffers
    const size_t state = static_cast<size_t>(s.layers) * part.count * s.hidden;
    if (p > 0) part.grads.assign(parameter_count(s), 0.0f);  // the first part's are the caller's
    part.h.assign(state, 0.0f);
    part.c.assign(state, 0.0f);
    part.x.assign(static_cast<size_t>(seq_length) * part.count, 0);
    part.y.assign(part.x.size(), 0);
  }
}

void SplitModel::bind(float* params, float* grads, float* h, float* c) {
  params_ = params, grads_ = grads, h_ = h, c_ = c;
  if (parts_.size() == 1) parts_.front().model->bind(params, grads, h, c);
}

// One part's block: its streams' symbols and states gathered, the block run, the states scattered
// back. The first part of one is the whole block on the caller's buffers.
void SplitModel::run_part(Part& part, const int32_t* x, const int32_t* y, int T, bool gradients,
                          double dropout, int64_t seed, int64_t update) {
  const int L = s_.layers, m = s_.hidden;
  if (parts_.size() == 1) {  // bound to the caller's buffers
    part.loss = part.model->forward_backward(x, y, T, gradients, dropout, seed, update);
    return;
  }
  gather_rows(h_, part.h.data(), L, B_, part.first, part.count, m);
  gather_rows(c_, part.c.data(), L, B_, part.first, part.count, m);
  gather_rows(x, part.x.data(), T, B_, part.first, part.count, 1);
  gather_rows(y, part.y.data(), T, B_, part.first, part.count, 1);
  part.model->bind(params_, part.grads.empty() ? grads_ : part.grads.data(), part.h.data(), part.c.data());
  part.loss = part.model->forward_backward(part.x.data(), part.y.data(), T, gradients, dropout, seed, update);
  scatter_rows(part.h.data(), h_, L, B_, part.first, part.count, m);
  scatter_rows(part.c.data(), c_, L, B_, part.first, part.count, m);
}

double SplitModel::forward_backward(const int32_t* x, const int32_t* y, int T, bool gradients,
                                    double dropout, int64_t seed, int64_t update) {
#ifdef __wasi__  // wasm32-wasi has no threads: the parts one after another (the same numbers)
  for (Part& part : parts_) run_part(part, x, y, T, gradients, dropout, seed, update);
#else
  std::vector<std::thread> helpers;
  for (size_t p = 1; p < parts_.size(); ++p)
    helpers.emplace_back([&, p] { run_part(parts_[p], x, y, T, gradients, dropout, seed, update); });
  run_part(parts_[0], x, y, T, gradients, dropout, seed, update);
  for (std::thread& helper : helpers) helper.join();
#endif
  double loss = 0;
  for (const Part& part : parts_) loss += part.loss;
  if (gradients) {
    const size_t n = parameter_count(s_);
    for (size_t p = 1; p < parts_.size(); ++p) add_into(n, grads_, parts_[p].grads.data());
  }
  return loss;
}

std::vector<Matmul> matmul_plan(const Shape& s, int B, int T) {
  std::vector<float> params(parameter_count(s), 0.0f), grads(params.size(), 0.0f);
  const size_t state = static_cast<size_t>(s.layers) * B * s.hidden;
  std::vector<float> h(state, 0.0f), c(state, 0.0f);
  const std::vector<int32_t> symbols(static_cast<size_t>(T) * B, 0);
  Model model(s, B, T);
  model.bind(params.data(), grads.data(), h.data(), c.data());
  std::vector<Matmul> plan;
  model.log_matmuls(&plan);
  model.forward_backward(symbols.data(), symbols.data(), T, true, 0.0, 0, 0);
  return plan;
}

namespace {

// Floats a row-major operand of `rows` rows and leading dimension ld spans.
size_t operand_floats(int rows, int ld) { return static_cast<size_t>(rows) * ld; }

void run_plan(const std::vector<Matmul>& plan, const float* A, const float* B, float* C) {
  for (const Matmul& g : plan) sgemm(g, A, B, C);
}

}  // namespace

MatmulTiming time_matmul_plan(const std::vector<Matmul>& plan, int reps) {
  // One scratch buffer per operand role, sized for the largest: a lower bound on the real
  // update's time (its operands are spread over more memory), which is what a ceiling wants.
  size_t a = 1, b = 1, c = 1;
  MatmulTiming timing;
  for (const Matmul& g : plan) {
    a = std::max(a, operand_floats(g.trans_a ? g.K : g.M, g.lda));
    b = std::max(b, operand_floats(g.trans_b ? g.N : g.K, g.ldb));
    c = std::max(c, operand_floats(g.M, g.ldc));
    timing.flops += 2.0 * g.M * g.N * g.K;
  }
  // Small non-zero values: no denormals, no overflow over repeated beta = 1 accumulations.
  std::vector<float> A(a, 1e-3f), B(b, 1e-3f), C(c, 0.0f);
  run_plan(plan, A.data(), B.data(), C.data());  // warm-up: caches, BLAS buffers
  std::vector<double> seconds(static_cast<size_t>(reps));
  for (double& elapsed : seconds) {
    const auto start = std::chrono::steady_clock::now();
    run_plan(plan, A.data(), B.data(), C.data());
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::sort(seconds.begin(), seconds.end());
  const size_t n = seconds.size();
  timing.seconds = n % 2 == 1 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2;
  return timing;
}

}  // namespace rnn

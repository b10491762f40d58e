#include "rnn.h"

#include "fastmath.h"
#include "stacked.h"

#include "blas.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace rnn {

Dims make_dims(int m, int K) {
  Dims d;
  d.m = m;
  d.K = K;
  d.parameters = {{{"U", m, K, Init::Normal, 0, 0},
                   {"W", m, m, Init::Normal, 0, 0},
                   {"V", K, m, Init::Normal, 0, 0},
                   {"b", m, 0, Init::Zero, 0, 0},
                   {"c", K, 0, Init::Zero, 0, 0}}};
  size_t offset = 0;
  for (Parameter& p : d.parameters) {
    p.offset = offset;
    p.length = static_cast<size_t>(p.rows) * static_cast<size_t>(p.cols == 0 ? 1 : p.cols);
    offset += p.length;
  }
  d.U = d.parameters[0].offset;
  d.W = d.parameters[1].offset;
  d.V = d.parameters[2].offset;
  d.b = d.parameters[3].offset;
  d.c = d.parameters[4].offset;
  d.total = offset;
  return d;
}

void Workspace::reserve(const Dims& d, int T) {
  H.resize(static_cast<size_t>(T + 1) * d.m);
  P.resize(static_cast<size_t>(T) * d.K);
  dH.resize(static_cast<size_t>(T) * d.m);
  x.resize(static_cast<size_t>(T) + 1);
}

namespace {

RNN_VECTOR_CLONES void tanh_inplace(float* x, int n) {
  for (int i = 0; i < n; ++i) x[i] = tanh_approx(x[i]);
}

// o[k] = exp(o[k] − shift)
RNN_VECTOR_CLONES void exp_shifted(float* o, int n, float shift) {
  for (int k = 0; k < n; ++k) o[k] = exp_approx(o[k] - shift);
}

// h_next = tanh(W h_prev + U[:, x] + b)
void step(const Dims& d, const float* params, const float* h_prev, int32_t x, float* h_next) {
  const int m = d.m;
  const float* U = params + d.U;
  const float* b = params + d.b;
  for (int i = 0; i < m; ++i) h_next[i] = b[i] + U[static_cast<size_t>(i) * d.K + x];
  blas::sgemv(blas::NoTrans, m, m, 1.0f, params + d.W, m, h_prev, 1.0f, h_next);
  tanh_inplace(h_next, m);
}

// Turns a row of logits into probabilities in place; returns log p[target] via log-sum-exp.
double softmax_row(float* o, int K, int32_t target) {
  const float max = *std::max_element(o, o + K);
  const double shifted_target = static_cast<double>(o[target]) - max;
  exp_shifted(o, K, max);
  double sum = 0;
  for (int k = 0; k < K; ++k) sum += o[k];
  const float inverse = static_cast<float>(1.0 / sum);
  for (int k = 0; k < K; ++k) o[k] *= inverse;
  return shifted_target - std::log(sum);
}

}  // namespace

double loss_and_gradients(const Dims& d, const float* params, float* grads, float* h,
                          const int32_t* x, const int32_t* y, int T, Workspace& ws) {
  const int m = d.m, K = d.K;
  ws.reserve(d, T);
  float* H = ws.H.data();
  float* P = ws.P.data();
  float* dA = ws.dH.data();
  const float* V = params + d.V;
  const float* c = params + d.c;

  // Forward: H[t+1] = h_t, then all outputs at once: O (T×K) = H[1..T] (T×m) · Vᵀ (m×K).
  std::memcpy(H, h, sizeof(float) * m);
  for (int t = 0; t < T; ++t) step(d, params, H + static_cast<size_t>(t) * m, x[t], H + static_cast<size_t>(t + 1) * m);
  blas::sgemm(blas::NoTrans, blas::Trans, T, K, m, 1.0f, H + m, m, V, m, 0.0f, P, K);
  double loss = 0;
  for (int t = 0; t < T; ++t) {
    float* row = P + static_cast<size_t>(t) * K;
    for (int k = 0; k < K; ++k) row[k] += c[k];
    loss -= softmax_row(row, K, y[t]);
    row[y[t]] -= 1.0f;  // now dL/do_t
  }

  // Output layer: dV (K×m) = dOᵀ · H[1..T], dc = Σ_t dO_t, dH (T×m) = dO · V.
  float* dU = grads + d.U;
  float* dW = grads + d.W;
  float* dV = grads + d.V;
  float* db = grads + d.b;
  float* dc = grads + d.c;
  blas::sgemm(blas::Trans, blas::NoTrans, K, m, T, 1.0f, P, K, H + m, m, 0.0f, dV, m);
  std::fill(dc, dc + K, 0.0f);
  for (int t = 0; t < T; ++t)
    for (int k = 0; k < K; ++k) dc[k] += P[static_cast<size_t>(t) * K + k];
  blas::sgemm(blas::NoTrans, blas::NoTrans, T, m, K, 1.0f, P, K, V, m, 0.0f, dA, m);

  // Back through time: dh_t += Wᵀ da_{t+1}; da_t = dh_t ⊙ (1 − h_t²), in place.
  const float* W = params + d.W;
  for (int t = T - 1; t >= 0; --t) {
    float* da = dA + static_cast<size_t>(t) * m;
    if (t < T - 1) blas::sgemv(blas::Trans, m, m, 1.0f, W, m, da + m, 1.0f, da);
    const float* ht = H + static_cast<size_t>(t + 1) * m;
    for (int i = 0; i < m; ++i) da[i] *= 1.0f - ht[i] * ht[i];
  }

  // Recurrent and input weights: dW (m×m) = dAᵀ · H[0..T−1]; dU[:, x_t] += da_t; db = Σ_t da_t.
  blas::sgemm(blas::Trans, blas::NoTrans, m, m, T, 1.0f, dA, m, H, m, 0.0f, dW, m);
  std::fill(dU, dU + static_cast<size_t>(m) * K, 0.0f);
  std::fill(db, db + m, 0.0f);
  for (int t = 0; t < T; ++t) {
    const float* da = dA + static_cast<size_t>(t) * m;
    for (int i = 0; i < m; ++i) {
      dU[static_cast<size_t>(i) * K + x[t]] += da[i];
      db[i] += da[i];
    }
  }

  std::memcpy(h, H + static_cast<size_t>(T) * m, sizeof(float) * m);
  return loss;
}

bool train(const Dims& d, float* params, float* grads, float* accum, float* h,
           const Corpus& corpus, Walk& walk, const Hyper& hp, size_t n, double* losses,
           Workspace& ws) {
  const int T = hp.seq_length;
  ws.reserve(d, T);
  stacked::OptimizerSettings adagrad;  // the one AdaGrad, the general model's
  adagrad.eta = hp.eta;
  adagrad.epsilon = hp.epsilon;
  adagrad.clip = hp.clip;
  for (size_t i = 0; i < n; ++i) {
    size_t start = static_cast<size_t>(walk.position);
    const bool new_epoch = start > corpus.length || corpus.length - start < static_cast<size_t>(T) + 1;
    if (new_epoch) start = 0;
    for (int t = 0; t <= T; ++t) {
      const int32_t s = corpus.at(start + t);
      if (s >= d.K) return false;
      ws.x[t] = s;
    }
    if (new_epoch) {
      walk.epoch += 1;
      std::fill(h, h + d.m, 0.0f);
    }
    losses[i] = loss_and_gradients(d, params, grads, h, ws.x.data(), ws.x.data() + 1, T, ws);
    stacked::optimize(adagrad, d.total, params, grads, accum, nullptr, 1);
    walk.position = static_cast<double>(start + T);
  }
  return true;
}

void advance(const Dims& d, const float* params, float* h, const int32_t* x, size_t n) {
  std::vector<float> next(d.m);
  for (size_t t = 0; t < n; ++t) {
    step(d, params, h, x[t], next.data());
    std::copy(next.begin(), next.end(), h);
  }
}

static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

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

double next_uniform(uint32_t s[4]) { return (next_u32(s) >> 8) * (1.0 / 16777216.0); }

int32_t draw(const float* o, int K, double temperature, uint32_t rng[4], double* weights) {
  if (temperature == 0) return static_cast<int32_t>(std::max_element(o, o + K) - o);
  const double max = *std::max_element(o, o + K);
  double sum = 0;
  for (int k = 0; k < K; ++k) sum += weights[k] = std::exp((o[k] - max) / temperature);
  const double u = next_uniform(rng) * sum;
  double cumulative = 0;
  for (int k = 0; k < K; ++k) {
    cumulative += weights[k];
    if (u < cumulative) return k;
  }
  return K - 1;
}

void sample(const Dims& d, const float* params, float* h, int32_t first, double temperature,
            uint32_t rng[4], int32_t* out, size_t n) {
  const int m = d.m, K = d.K;
  std::vector<float> next(m), o(K);
  std::vector<double> p(K);
  int32_t x = first;
  for (size_t i = 0; i < n; ++i) {
    step(d, params, h, x, next.data());
    std::copy(next.begin(), next.end(), h);
    for (int k = 0; k < K; ++k) o[k] = params[d.c + k];
    blas::sgemv(blas::NoTrans, K, m, 1.0f, params + d.V, m, h, 1.0f, o.data());
    x = draw(o.data(), K, temperature, rng, p.data());
    out[i] = x;
  }
}

}  // namespace rnn

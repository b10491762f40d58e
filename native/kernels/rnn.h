// The vanilla character-level RNN in float32 on CBLAS: forward, BPTT, its data walk, sampling.
// Nothing here knows about Node-API; native/addon/vanilla.cc and native/wasm.cc call in, once
// native/checks.cc has checked the arguments.
//
// Shape legend: m hidden units, K vocabulary size, T sequence length.
// Every parameter lives in one flat row-major float array; gradients and the AdaGrad
// accumulators mirror the same layout:
//   U (m×K) | W (m×m) | V (K×m) | b (m) | c (K)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rnn {

enum class Init { Normal, Zero };  // N(0, σ²) or zeros (lib/model/version1-names.ts draws the values)

// One parameter tensor: its place in the flat array. lib/model/version1-names.ts computes the same table,
// and a test compares the two entry by entry (through the addon's parameterLayout export).
struct Parameter {
  const char* name;
  int rows;  // the tensor's shape: rows × cols, or a vector of `rows` when cols is 0
  int cols;
  Init init;
  size_t offset;
  size_t length;
};

struct Dims {
  int m = 0;
  int K = 0;
  std::array<Parameter, 5> parameters{};  // U, W, V, b, c, in this order
  size_t U = 0, W = 0, V = 0, b = 0, c = 0;  // offsets into the flat array, from `parameters`
  size_t total = 0;                          // number of parameters
};

Dims make_dims(int m, int K);

// Scratch space for one sequence, sized once and reused across updates.
struct Workspace {
  std::vector<float> H;      // (T+1)×m: h_0 .. h_T
  std::vector<float> P;      // T×K: probabilities, then dL/do
  std::vector<float> dH;     // T×m: dL/dh_t, then dL/da_t in place
  std::vector<int32_t> x;    // T+1 symbols of the current window
  void reserve(const Dims& d, int T);
};

// The corpus as an index array of 1- or 2-byte elements.
struct Corpus {
  const void* data = nullptr;
  size_t length = 0;
  int element_size = 1;
  int32_t at(size_t i) const {
    return element_size == 1 ? static_cast<const uint8_t*>(data)[i]
                             : static_cast<const uint16_t*>(data)[i];
  }
};

struct Hyper {
  int seq_length = 25;
  float eta = 0.1f;
  float epsilon = 1e-8f;
  float clip = 5.0f;
};

// Where the data walk stands: the next window starts at `position`; `epoch` counts epochs.
struct Walk {
  double position = 0;
  double epoch = 1;
};

// Loss L = −Σ_t log p_t[y_t] over one sequence and its unclipped gradients (grads is
// overwritten). h holds h_0 on entry and h_T on return. x and y hold T symbols each.
double loss_and_gradients(const Dims& d, const float* params, float* grads, float* h,
                          const int32_t* x, const int32_t* y, int T, Workspace& ws);

// Runs `n` updates of the data walk (each with stacked::optimize's AdaGrad), writing each
// update's loss to losses[i].
// Returns false, having changed nothing for that update, if a corpus symbol is ≥ K.
bool train(const Dims& d, float* params, float* grads, float* accum, float* h,
           const Corpus& corpus, Walk& walk, const Hyper& hp, size_t n, double* losses,
           Workspace& ws);

// Feeds symbols through the recurrence, updating h.
void advance(const Dims& d, const float* params, float* h, const int32_t* x, size_t n);

// xoshiro128** (Blackman & Vigna); lib/util/random.ts implements the same generator.
uint32_t next_u32(uint32_t s[4]);
// A uniform double in [0, 1) with 24 random bits, exact in float32 and float64.
double next_uniform(uint32_t s[4]);

// One symbol from logits o (K): the first k whose cumulative weight exceeds u · Σ weights, with
// weights = exp((o − max) / temperature) (in `weights`, K doubles) and u from the generator;
// temperature 0 takes the argmax. lib/reference.ts draw is the same.
int32_t draw(const float* o, int K, double temperature, uint32_t rng[4], double* weights);

// Draws `n` symbols: each step feeds the previous symbol (first `first`) and draws the next
// from softmax(o/temperature); temperature 0 takes the argmax. h is updated.
void sample(const Dims& d, const float* params, float* h, int32_t first, double temperature,
            uint32_t rng[4], int32_t* out, size_t n);

}  // namespace rnn

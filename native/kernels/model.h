// The model in float32 on CBLAS: L stacked layers of rnn, lstm or gru cells
// over a (T, B) block of B parallel streams, inverted dropout on each layer's output, full BPTT,
// AdaGrad / RMSprop / Adam, and one-stream sampling. The math is lib/model/reference.ts's
// (the float64 truth it is tested against); nothing here knows about Node-API.
//
// Shapes: K vocabulary size, m hidden units, L layers, G gates (rnn 1, lstm 4 = i f o g,
// gru 3 = r z n), T steps, B streams, N = T·B rows of a block (row t·B + b).
// Parameters, flat: per layer l: Wx (G·m × I_l, I_0 = K, else m), Wh (G·m × m), b (G·m); V (K × m), c (K).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rnn {

enum class Cell { Rnn, Lstm, Gru };

int gates(Cell cell);

struct Shape {
  Cell cell = Cell::Rnn;
  int vocab = 0;   // K
  int hidden = 0;  // m
  int layers = 0;  // L
};

struct Parameter {
  std::string name;
  std::vector<int> shape;
  size_t offset = 0;
  size_t length = 0;
};

// The parameter table (lib/model/reference.ts parameterTable computes the same).
std::vector<Parameter> layout(const Shape& s);
// In 64 bits, also in wasm32: the argument checks compare it with the limits.
uint64_t parameter_count(const Shape& s);

// Floats of scratch a model of B streams and blocks of up to T steps allocates (lib/model/limits.ts
// scratchFloats computes the same): per layer the states h_0..h_T (and lstm's c), the
// gates of every step (gru: also Wh_n h'), the dropout masks and dropped outputs; then the
// hidden products of one step, the logits, dPre (gru: also the dHidden block), two N × m
// gradient blocks and the carried dh, dc.
uint64_t scratch_floats(const Shape& s, uint64_t B, uint64_t T);

// A uniform in [0, 1) with 24 bits for one unit of one dropout mask, bit for bit
// lib/model/reference.ts dropoutUniform (seed and update safe integers, update ≥ 0).
double dropout_uniform(int64_t seed, int64_t update, uint32_t layer, uint32_t t, uint32_t stream,
                       uint32_t unit);
// The hash of all its words but the unit (one mask row's units each need one mix more).
uint32_t dropout_row_hash(int64_t seed, int64_t update, uint32_t layer, uint32_t t,
                          uint32_t stream);

enum class OptimizerKind { Adagrad, Rmsprop, Adam };

struct OptimizerSettings {
  OptimizerKind kind = OptimizerKind::Adagrad;
  float eta = 0.1f, epsilon = 1e-8f, clip = 5.0f;
  double decay = 0, beta1 = 0, beta2 = 0;  // exact, for Adam's bias corrections; float32 in the update
};

// Clip every gradient to [−clip, clip], then one step of the optimizer (lib/model/optimizers.ts, in
// float32; Adam's bias corrections in double from `step`, the number of this update from 1).
// first is used by Adam only.
void optimize(const OptimizerSettings& o, size_t n, float* params, const float* grads,
              float* second, float* first, double step);

// Updates in one call: `count` blocks of x and y (steps × streams symbols each, block k from
// k·steps·streams), each forward_backward with gradients then optimize, update k numbered
// first_update + k (its dropout masks and Adam's step); h and c zeroed first when reset.
struct Updates {
  const int32_t* x = nullptr;
  const int32_t* y = nullptr;
  int steps = 0;
  size_t count = 0;
  bool reset = false;
  double dropout = 0;
  int64_t seed = 0, first_update = 1;
  OptimizerSettings settings;
  float* second = nullptr;
  float* first = nullptr;
  double* losses = nullptr;  // count, written
};

// How a symbol is drawn from the logits, in this order (lib/model/sampling-rules.ts, the same):
// each distinct symbol of the last repetition_window divided (a positive logit) or multiplied (a
// negative one) by repetition_penalty; the softmax at `temperature` (0 = argmax); the top_k most
// likely (0 = all); the smallest most-likely set of probability ≥ top_p; those of probability ≥
// min_p × the most likely's. Ties go to the lowest symbol id.
struct SamplingRules {
  double temperature = 1;
  int top_k = 0;
  double top_p = 1, min_p = 0, repetition_penalty = 1;
  int repetition_window = 0;
};

// One matrix multiply of an update as the kernel issues it: C (M × N) = op(A) · op(B) + beta·C,
// row-major, alpha 1, op = transpose when trans_*. Every multiply goes through Model::gemm.
struct Matmul {
  bool trans_a = false, trans_b = false;
  int M = 0, N = 0, K = 0, lda = 0, ldb = 0, ldc = 0;
  float beta = 0;
};

// The multiplies of one update (forward_backward with gradients, no dropout: dropout changes
// only which buffers they read) of a model of B streams and T steps, in the order the kernel
// issues them, recorded from one run on zero data.
std::vector<Matmul> matmul_plan(const Shape& s, int B, int T);

struct MatmulTiming {
  double seconds = 0;  // per update: the median of reps runs of the whole plan, after a warm-up
  double flops = 0;    // per update: Σ 2·M·N·K
};

// The plan's multiplies alone, through the same BLAS on scratch operands of their sizes: the
// "sgemm-only ceiling" of an update (docs/performance.md). reps ≥ 1.
MatmulTiming time_matmul_plan(const std::vector<Matmul>& plan, int reps);

// One model over caller-owned buffers (params may be shared between models; grads, h and c are
// this model's). h and c are [l][b][j]. Scratch is sized once, at construction.
class Model {
 public:
  // A model may be one part of a bigger block (SplitModel): its streams are the block's
  // first_stream .. first_stream + streams − 1 (for the dropout masks), and its loss and gradients
  // are means over the block's block_streams streams (0: its own).
  Model(const Shape& s, int streams, int seq_length, int first_stream = 0, int block_streams = 0);

  void bind(float* params, float* grads, float* h, float* c) {
    params_ = params;
    grads_ = grads;
    h_ = h;
    c_ = c;
  }

  // Loss Σ_t Σ_b −log p[y] / B of one block of T ≤ seq_length steps; x, y are [t][b]. With
  // gradients, grads is overwritten with the unclipped gradients. dropout 0 draws no masks.
  double forward_backward(const int32_t* x, const int32_t* y, int T, bool gradients,
                          double dropout, int64_t seed, int64_t update);

  // One stream only: feeds the symbols through the layers (no dropout).
  void advance(const int32_t* x, size_t n);

  // One stream only: feeds x, then writes the next symbol's log-probabilities (K, in double).
  void log_probs(int32_t x, double* out);

  // One stream only: draws n symbols (xoshiro128**, lib/util/random.ts) by the rules; `recent`
  // holds the text's last symbols before them (first among them), for the repetition penalty.
  void sample(int32_t first, const SamplingRules& rules, const int32_t* recent, size_t recent_length,
              uint32_t rng[4], int32_t* out, size_t n);

  // While non-null, every multiply is also appended to *log (matmul_plan). Off costs one check.
  void log_matmuls(std::vector<Matmul>* log) { matmul_log_ = log; }

  const Shape& shape() const { return s_; }
  int streams() const { return B_; }
  int seq_length() const { return T_max_; }

 private:
  void forward(const int32_t* x, int T, double dropout, int64_t seed, int64_t update);
  void layer_forward(int l, const int32_t* x, int T);
  float* transposed_scratch(size_t N);
  void gather_inputs(const int32_t* x, size_t N, float* A);
  void scatter_input_gradients(const int32_t* x, size_t N);
  void cell_forward(int l, int t);
  void logits(int T);
  void layer_backward(int l, const int32_t* x, int T);
  void cell_backward(int l, int t);
  const float* layer_output(int l, bool dropped) const;
  void gemm(bool trans_a, bool trans_b, int M, int N, int K, const float* A, int lda,
            const float* B, int ldb, float beta, float* C, int ldc);

  Shape s_;
  int G_, B_, T_max_, first_stream_, block_streams_;
  float* params_ = nullptr;
  float* grads_ = nullptr;
  float* h_ = nullptr;
  float* c_ = nullptr;
  std::vector<Parameter> layout_;
  // Scratch, per layer l (strides below), then shared.
  std::vector<float> H_, C_, gates_, hhn_, mask_, dropped_;
  std::vector<float> hp_, P_, dpre_, dhid_, d_above_, d_below_, dh_, dc_;
  size_t state_stride_, gate_stride_, unit_stride_;  // (T+1)·B·m, N·G·m, N·m
  std::vector<double> weights_;  // sample: K draw weights
  std::vector<int32_t> order_;   // sample: symbols by weight, for top-k and top-p
  std::vector<int32_t> seen_;    // sample: each symbol's count in the repetition window
  bool dropping_ = false;        // the current block has dropout masks (set by forward)
  std::vector<Matmul>* matmul_log_ = nullptr;
};

// A block's forward_backward with its B streams split into `parts` contiguous groups (sizes
// differing by at most one), each a Model on its own thread, whose losses and gradients are summed
// in group order: the same numbers for the same parts, whatever the scheduling. Each multiply runs
// on one OpenBLAS thread. The first part works on the caller's grads; the others on their own
// copies of grads, states and symbols.
class SplitModel {
 public:
  SplitModel(const Shape& s, int streams, int seq_length, int parts);

  void bind(float* params, float* grads, float* h, float* c);

  // As Model::forward_backward, for all B streams.
  double forward_backward(const int32_t* x, const int32_t* y, int T, bool gradients,
                          double dropout, int64_t seed, int64_t update);

  int parts() const { return static_cast<int>(parts_.size()); }
  const Shape& shape() const { return s_; }
  int streams() const { return B_; }
  int seq_length() const { return parts_.front().model->seq_length(); }
  // The model of one part, bound to the caller's buffers (advance and sample): parts must be 1.
  Model& single() { return *parts_.front().model; }

  // Floats the parts allocate: their scratch, and beyond the first their grads and states.
  static uint64_t scratch_floats(const Shape& s, uint64_t B, uint64_t T, uint64_t parts);

 private:
  struct Part {
    int first = 0, count = 0;
    std::unique_ptr<Model> model;
    std::vector<float> grads, h, c;  // grads: empty for the first part (the caller's)
    std::vector<int32_t> x, y;       // states and symbols: all empty for one part
    double loss = 0;
  };
  void run_part(Part& part, const int32_t* x, const int32_t* y, int T, bool gradients,
                double dropout, int64_t seed, int64_t update);

  Shape s_;
  int B_;
  float* params_ = nullptr;
  float* grads_ = nullptr;
  float* h_ = nullptr;
  float* c_ = nullptr;
  std::vector<Part> parts_;
};

// Runs u on a Model or SplitModel bound to params, grads, h and c (state_length floats each):
// the same numbers as its forward_backward and optimize called in turn.
template <typename M>
void train(M& model, const Updates& u, float* params, const float* grads, float* h, float* c,
           size_t state_length) {
  if (u.reset) {
    std::fill(h, h + state_length, 0.0f);
    std::fill(c, c + state_length, 0.0f);
  }
  const size_t block = static_cast<size_t>(u.steps) * static_cast<size_t>(model.streams());
  const size_t P = parameter_count(model.shape());
  for (size_t k = 0; k < u.count; ++k) {
    const int64_t update = u.first_update + static_cast<int64_t>(k);
    u.losses[k] = model.forward_backward(u.x + k * block, u.y + k * block, u.steps, true,
                                         u.dropout, u.seed, update);
    optimize(u.settings, P, params, grads, u.second, u.first, static_cast<double>(update));
  }
}

}  // namespace rnn

// The C ABI of the WebAssembly build: the engine (rnn.cc, stacked.cc) over plain pointers into
// the module's memory. lib/engine/wasm.ts is the other half: it checks every argument as
// native/addon.cc does, copies the typed arrays in and out, and calls these; nothing here is
// reached with an unchecked size, shape or symbol. Sizes the checks need (parameter counts,
// scratch floats, layout tables) come from here, so they are the engine's own formulas.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rnn.h"
#include "stacked.h"

#define EXPORT(name) extern "C" __attribute__((export_name(#name)))

namespace {

stacked::Shape shape_of(int cell, int vocab, int hidden, int layers) {
  stacked::Shape s;
  s.cell = static_cast<stacked::Cell>(cell);  // 0 rnn, 1 lstm, 2 gru (lib/engine/wasm.ts CELLS)
  s.vocab = vocab;
  s.hidden = hidden;
  s.layers = layers;
  return s;
}

// A NUL-terminated copy in malloc'd memory, for lib/engine/wasm.ts to read and free.
const char* owned(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out != nullptr) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

std::string shape_json(const std::vector<int>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out + "]";
}

rnn::Dims dims(int hidden, int vocab) { return rnn::make_dims(hidden, vocab); }

}  // namespace

// ---- the vanilla DD2424 model (native/rnn.h) ----

EXPORT(rnn_parameter_count) double rnn_parameter_count(int hidden, int vocab) {
  return static_cast<double>(dims(hidden, vocab).total);
}

// parameterLayout as JSON: [{name, shape, init, offset, length}].
EXPORT(rnn_parameter_layout) const char* rnn_parameter_layout(int hidden, int vocab) {
  const rnn::Dims d = dims(hidden, vocab);
  std::string json = "[";
  for (size_t i = 0; i < d.parameters.size(); ++i) {
    const rnn::Parameter& p = d.parameters[i];
    json += std::string(i ? "," : "") + "{\"name\":\"" + p.name + "\",\"shape\":" +
            shape_json(p.cols == 0 ? std::vector<int>{p.rows} : std::vector<int>{p.rows, p.cols}) +
            ",\"init\":\"" + (p.init == rnn::Init::Normal ? "normal" : "zero") +
            "\",\"offset\":" + std::to_string(p.offset) + ",\"length\":" +
            std::to_string(p.length) + "}";
  }
  return owned(json + "]");
}

EXPORT(rnn_loss_and_gradients)
double rnn_loss_and_gradients(int hidden, int vocab, const float* params, float* grads,
                              float* state, const int32_t* x, const int32_t* y, int T) {
  rnn::Workspace ws;
  return rnn::loss_and_gradients(dims(hidden, vocab), params, grads, state, x, y, T, ws);
}

// Returns 0, or 1 when the corpus holds a symbol ≥ vocab (walk holds where it stopped).
EXPORT(rnn_train)
int rnn_train(int hidden, int vocab, float* params, float* grads, float* accum, float* state,
              const void* corpus, size_t length, int element_size, double* walk, int seq_length,
              float eta, float epsilon, float clip, size_t n, double* losses) {
  const rnn::Corpus c{corpus, length, element_size};
  rnn::Walk w{walk[0], walk[1]};
  const rnn::Hyper hp{seq_length, eta, epsilon, clip};
  rnn::Workspace ws;
  const bool ok =
      rnn::train(dims(hidden, vocab), params, grads, accum, state, c, w, hp, n, losses, ws);
  walk[0] = w.position;
  walk[1] = w.epoch;
  return ok ? 0 : 1;
}

EXPORT(rnn_advance)
void rnn_advance(int hidden, int vocab, const float* params, float* state, const int32_t* x,
                 size_t n) {
  rnn::advance(dims(hidden, vocab), params, state, x, n);
}

EXPORT(rnn_sample)
void rnn_sample(int hidden, int vocab, const float* params, float* state, int first,
                double temperature, uint32_t* rng, int32_t* out, size_t n) {
  rnn::sample(dims(hidden, vocab), params, state, first, temperature, rng, out, n);
}

// ---- the general model (native/stacked.h) ----

EXPORT(stacked_parameter_count)
double stacked_parameter_count(int cell, int vocab, int hidden, int layers) {
  return static_cast<double>(stacked::parameter_count(shape_of(cell, vocab, hidden, layers)));
}

EXPORT(stacked_scratch_floats)
double stacked_scratch_floats(int cell, int vocab, int hidden, int layers, int streams, int T) {
  return static_cast<double>(
      stacked::scratch_floats(shape_of(cell, vocab, hidden, layers), streams, T));
}

// stackedLayout as JSON: [{name, shape, offset, length}].
EXPORT(stacked_layout_json)
const char* stacked_layout_json(int cell, int vocab, int hidden, int layers) {
  std::string json = "[";
  bool first = true;
  for (const stacked::Parameter& p : stacked::layout(shape_of(cell, vocab, hidden, layers))) {
    json += std::string(first ? "" : ",") + "{\"name\":\"" + p.name + "\",\"shape\":" +
            shape_json(p.shape) + ",\"offset\":" + std::to_string(p.offset) +
            ",\"length\":" + std::to_string(p.length) + "}";
    first = false;
  }
  return owned(json + "]");
}

EXPORT(stacked_new)
stacked::Model* stacked_new(int cell, int vocab, int hidden, int layers, int streams, int T) {
  return new stacked::Model(shape_of(cell, vocab, hidden, layers), streams, T);
}

EXPORT(stacked_delete) void stacked_delete(stacked::Model* model) { delete model; }

EXPORT(stacked_forward_backward)
double stacked_forward_backward(stacked::Model* model, float* params, float* grads, float* h,
                                float* c, const int32_t* x, const int32_t* y, int T,
                                int gradients, double dropout, double seed, double update) {
  model->bind(params, grads, h, c);
  return model->forward_backward(x, y, T, gradients != 0, dropout, static_cast<int64_t>(seed),
                                 static_cast<int64_t>(update));
}

// kind: 0 adagrad, 1 rmsprop, 2 adam (lib/engine/wasm.ts OPTIMIZERS).
EXPORT(stacked_optimize)
void stacked_optimize(int kind, float eta, float epsilon, float clip, double decay, double beta1,
                      double beta2, size_t n, float* params, const float* grads, float* second,
                      float* first, double step) {
  stacked::OptimizerSettings o;
  o.kind = static_cast<stacked::OptimizerKind>(kind);
  o.eta = eta;
  o.epsilon = epsilon;
  o.clip = clip;
  o.decay = decay;
  o.beta1 = beta1;
  o.beta2 = beta2;
  stacked::optimize(o, n, params, grads, second, first, step);
}

EXPORT(stacked_advance)
void stacked_advance(stacked::Model* model, float* params, float* grads, float* h, float* c,
                     const int32_t* x, size_t n) {
  model->bind(params, grads, h, c);
  model->advance(x, n);
}

EXPORT(stacked_sample)
void stacked_sample(stacked::Model* model, float* params, float* grads, float* h, float* c,
                    int first, double temperature, uint32_t* rng, int32_t* out, size_t n) {
  model->bind(params, grads, h, c);
  model->sample(first, temperature, rng, out, n);
}

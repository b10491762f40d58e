// Node-API boundary of rnn-native. Every export checks its arguments and throws a JS
// TypeError (wrong type) or RangeError (wrong size or value); nothing here aborts the process.
// The typed arrays are used in place (zero-copy); lib/native.ts declares the same signatures.
#include <napi.h>
#include <cblas.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "rnn.h"

namespace {

constexpr int kMaxHidden = 8192;
constexpr int kMaxVocab = 65536;
constexpr int kMaxSeqLength = 1 << 20;

[[noreturn]] void throw_type(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] void throw_range(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

double number_arg(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsNumber()) throw_type(env, std::string(name) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int int_in_range(Napi::Env env, Napi::Value v, const char* name, int lo, int hi) {
  const double x = number_arg(env, v, name);
  if (!(x >= lo && x <= hi) || std::floor(x) != x)
    throw_range(env, std::string(name) + " must be an integer from " + std::to_string(lo) +
                         " to " + std::to_string(hi));
  return static_cast<int>(x);
}

template <typename T>
T* typed_array(Napi::Env env, Napi::Value v, napi_typedarray_type type, const char* type_name,
               const char* name, size_t expected_length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw_type(env, std::string(name) + " must be " + type_name);
  auto array = v.As<Napi::TypedArray>();
  if (expected_length != SIZE_MAX && array.ElementLength() != expected_length)
    throw_range(env, std::string(name) + " must have length " + std::to_string(expected_length) +
                         ", got " + std::to_string(array.ElementLength()));
  if (array.ElementLength() == 0) return nullptr;
  auto* bytes = static_cast<uint8_t*>(array.ArrayBuffer().Data());
  if (bytes == nullptr) throw_type(env, std::string(name) + " is detached");
  return reinterpret_cast<T*>(bytes + array.ByteOffset());
}

float* float32_array(Napi::Env env, Napi::Value v, const char* name, size_t length) {
  return typed_array<float>(env, v, napi_float32_array, "a Float32Array", name, length);
}

// The model argument: {hidden, vocab, params, grads?, accum?, state} as in lib/native.ts.
struct Model {
  rnn::Dims dims;
  float* params = nullptr;
  float* grads = nullptr;
  float* accum = nullptr;
  float* state = nullptr;
};

Napi::Object object_arg(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsObject() || v.IsTypedArray() || v.IsArray())
    throw_type(env, std::string(name) + " must be an object");
  return v.As<Napi::Object>();
}

void check_disjoint(Napi::Env env, const float* a, size_t na, const float* b, size_t nb,
                    const char* what) {
  if (a < b + nb && b < a + na) throw_range(env, std::string(what) + " must not overlap");
}

Model model_arg(Napi::Env env, Napi::Value v, bool with_grads, bool with_accum) {
  const Napi::Object o = object_arg(env, v, "model");
  Model model;
  const int m = int_in_range(env, o.Get("hidden"), "model.hidden", 1, kMaxHidden);
  const int K = int_in_range(env, o.Get("vocab"), "model.vocab", 1, kMaxVocab);
  model.dims = rnn::make_dims(m, K);
  const size_t P = model.dims.total;
  model.params = float32_array(env, o.Get("params"), "model.params", P);
  model.state = float32_array(env, o.Get("state"), "model.state", m);
  check_disjoint(env, model.params, P, model.state, m, "model.params and model.state");
  if (with_grads) {
    model.grads = float32_array(env, o.Get("grads"), "model.grads", P);
    check_disjoint(env, model.grads, P, model.params, P, "model.grads and model.params");
    check_disjoint(env, model.grads, P, model.state, m, "model.grads and model.state");
  }
  if (with_accum) {
    model.accum = float32_array(env, o.Get("accum"), "model.accum", P);
    check_disjoint(env, model.accum, P, model.params, P, "model.accum and model.params");
    check_disjoint(env, model.accum, P, model.grads, P, "model.accum and model.grads");
    check_disjoint(env, model.accum, P, model.state, m, "model.accum and model.state");
  }
  return model;
}

// An Int32Array of symbols, each in [0, K).
const int32_t* symbols_arg(Napi::Env env, Napi::Value v, const char* name, int K,
                           size_t* length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type(env, std::string(name) + " must be an Int32Array");
  *length = v.As<Napi::TypedArray>().ElementLength();
  const int32_t* x = typed_array<int32_t>(env, v, napi_int32_array, "an Int32Array", name, SIZE_MAX);
  for (size_t i = 0; i < *length; ++i)
    if (x[i] < 0 || x[i] >= K)
      throw_range(env, std::string(name) + "[" + std::to_string(i) + "] = " +
                           std::to_string(x[i]) + " is outside the vocabulary [0, " +
                           std::to_string(K) + ")");
  return x;
}

// lossAndGradients(model, inputs: Int32Array, targets: Int32Array): number
Napi::Value LossAndGradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Model model = model_arg(env, info[0], true, false);
  size_t T = 0, Ty = 0;
  const int32_t* x = symbols_arg(env, info[1], "inputs", model.dims.K, &T);
  const int32_t* y = symbols_arg(env, info[2], "targets", model.dims.K, &Ty);
  if (T == 0 || T > kMaxSeqLength) throw_range(env, "inputs must hold 1 to 1048576 symbols");
  if (Ty != T) throw_range(env, "targets must have the same length as inputs");
  rnn::Workspace ws;
  const double loss = rnn::loss_and_gradients(model.dims, model.params, model.grads, model.state,
                                              x, y, static_cast<int>(T), ws);
  return Napi::Number::New(env, loss);
}

rnn::Hyper hyper_arg(Napi::Env env, Napi::Value v) {
  const Napi::Object o = object_arg(env, v, "options");
  rnn::Hyper hp;
  hp.seq_length = int_in_range(env, o.Get("seqLength"), "options.seqLength", 1, kMaxSeqLength);
  const auto positive = [&](const char* key, const char* name) {
    const double x = number_arg(env, o.Get(key), name);
    if (!(x > 0 && std::isfinite(x) && x <= 3.4e38))
      throw_range(env, std::string(name) + " must be a positive finite number");
    return static_cast<float>(x);
  };
  hp.eta = positive("eta", "options.eta");
  hp.epsilon = positive("epsilon", "options.epsilon");
  hp.clip = positive("clip", "options.clip");
  return hp;
}

// train(model, corpus: Uint8Array | Uint16Array, walk: Float64Array [position, epoch],
//       options: {seqLength, eta, epsilon, clip}, losses: Float64Array): undefined
// Runs losses.length updates.
Napi::Value Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Model model = model_arg(env, info[0], true, true);
  rnn::Corpus corpus;
  {
    Napi::Value v = info[1];
    if (!v.IsTypedArray()) throw_type(env, "corpus must be a Uint8Array or Uint16Array");
    const auto type = v.As<Napi::TypedArray>().TypedArrayType();
    if (type == napi_uint8_array) {
      corpus.data = typed_array<uint8_t>(env, v, type, "a Uint8Array", "corpus", SIZE_MAX);
      corpus.element_size = 1;
    } else if (type == napi_uint16_array) {
      corpus.data = typed_array<uint16_t>(env, v, type, "a Uint16Array", "corpus", SIZE_MAX);
      corpus.element_size = 2;
    } else {
      throw_type(env, "corpus must be a Uint8Array or Uint16Array");
    }
    corpus.length = v.As<Napi::TypedArray>().ElementLength();
  }
  double* walk = typed_array<double>(env, info[2], napi_float64_array, "a Float64Array", "walk", 2);
  const rnn::Hyper hp = hyper_arg(env, info[3]);
  double* losses =
      typed_array<double>(env, info[4], napi_float64_array, "a Float64Array", "losses", SIZE_MAX);
  const size_t n = info[4].As<Napi::TypedArray>().ElementLength();

  if (corpus.length < static_cast<size_t>(hp.seq_length) + 1)
    throw_range(env, "corpus must hold at least options.seqLength + 1 symbols");
  if (!(walk[0] >= 0 && walk[0] <= static_cast<double>(corpus.length)) ||
      std::floor(walk[0]) != walk[0])
    throw_range(env, "walk[0] (position) must be an integer from 0 to the corpus length");
  if (!std::isfinite(walk[1])) throw_range(env, "walk[1] (epoch) must be finite");

  rnn::Walk w{walk[0], walk[1]};
  rnn::Workspace ws;
  const bool ok = rnn::train(model.dims, model.params, model.grads, model.accum, model.state,
                             corpus, w, hp, n, losses, ws);
  walk[0] = w.position;
  walk[1] = w.epoch;
  if (!ok) throw_range(env, "corpus holds a symbol outside the vocabulary [0, model.vocab)");
  return env.Undefined();
}

// advance(model, inputs: Int32Array): undefined — feeds the symbols, updating model.state.
Napi::Value Advance(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Model model = model_arg(env, info[0], false, false);
  size_t n = 0;
  const int32_t* x = symbols_arg(env, info[1], "inputs", model.dims.K, &n);
  rnn::advance(model.dims, model.params, model.state, x, n);
  return env.Undefined();
}

// sample(model, first: number, temperature: number, rng: Uint32Array(4), out: Int32Array)
// Fills out with drawn symbols, updating model.state and the generator state.
Napi::Value Sample(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Model model = model_arg(env, info[0], false, false);
  const int first = int_in_range(env, info[1], "first", 0, model.dims.K - 1);
  const double temperature = number_arg(env, info[2], "temperature");
  if (!(temperature >= 0 && std::isfinite(temperature)))
    throw_range(env, "temperature must be a finite number ≥ 0");
  uint32_t* rng =
      typed_array<uint32_t>(env, info[3], napi_uint32_array, "a Uint32Array", "rng", 4);
  int32_t* out = typed_array<int32_t>(env, info[4], napi_int32_array, "an Int32Array", "out", SIZE_MAX);
  const size_t n = info[4].As<Napi::TypedArray>().ElementLength();
  if ((rng[0] | rng[1] | rng[2] | rng[3]) == 0) throw_range(env, "rng state must not be all zero");
  rnn::sample(model.dims, model.params, model.state, first, temperature, rng, out, n);
  return env.Undefined();
}

// blasInfo(): string — the BLAS build in use, for benchmarks and bug reports.
Napi::Value BlasInfo(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), openblas_get_config());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // One BLAS thread: at these sizes threads only cost, and results stay reproducible.
  openblas_set_num_threads(1);
  exports.Set("lossAndGradients", Napi::Function::New(env, LossAndGradients, "lossAndGradients"));
  exports.Set("train", Napi::Function::New(env, Train, "train"));
  exports.Set("advance", Napi::Function::New(env, Advance, "advance"));
  exports.Set("sample", Napi::Function::New(env, Sample, "sample"));
  exports.Set("blasInfo", Napi::Function::New(env, BlasInfo, "blasInfo"));
  return exports;
}

}  // namespace

NODE_API_MODULE(rnn_native, Init)

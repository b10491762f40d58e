// Node-API boundary of rnn-native. Every export checks its arguments and throws a JS
// TypeError (wrong type) or RangeError (wrong size or value); nothing here aborts the process.
// The typed arrays are used in place (zero-copy); lib/native.ts declares the same signatures.
//
// Each export works in two phases. First it reads every object property and number: property
// reads can run JS (getters, proxies) that could detach or resize a buffer. Only then does it
// take the typed arrays' pointers and lengths, and no JS runs from there to the end of the call.
#include <napi.h>
#include <cblas.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "rnn.h"

namespace {

// From lib/model-limits.json (CMakeLists.txt passes them), the limits lib/limits.ts checks first.
constexpr int kMaxHidden = RNN_LIMIT_MAXHIDDEN;
constexpr int kMaxVocab = RNN_LIMIT_MAXVOCABULARY;
constexpr int kMaxSeqLength = RNN_LIMIT_MAXSEQLENGTH;
// Scratch floats one sequence may need: (T+1)·m + T·m + T·K.
constexpr size_t kMaxWorkspaceFloats = RNN_LIMIT_MAXWORKSPACEFLOATS;
constexpr size_t kMaxParameters = RNN_LIMIT_MAXPARAMETERS;

[[noreturn]] void throw_type(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] void throw_range(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

// ---- phase 1: values (may run JS) ----

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

// A positive number that stays a positive, finite, normal float32.
float positive_float(Napi::Env env, Napi::Value v, const char* name) {
  const double x = number_arg(env, v, name);
  if (!(x >= FLT_MIN && x <= FLT_MAX))
    throw_range(env, std::string(name) + " must be a positive float32 number (1.2e-38 to 3.4e38)");
  return static_cast<float>(x);
}

Napi::Object object_arg(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsObject() || v.IsTypedArray() || v.IsArray() || v.IsFunction())
    throw_type(env, std::string(name) + " must be an object");
  return v.As<Napi::Object>();
}

// The model argument {hidden, vocab, params, state, grads?, accum?} (lib/native.ts), read.
struct ModelValues {
  rnn::Dims dims;
  Napi::Value params, state, grads, accum;
};

ModelValues read_model(Napi::Env env, Napi::Value v) {
  const Napi::Object o = object_arg(env, v, "model");
  ModelValues values;
  const Napi::Value hidden = o.Get("hidden"), vocab = o.Get("vocab");
  values.params = o.Get("params");
  values.state = o.Get("state");
  values.grads = o.Get("grads");
  values.accum = o.Get("accum");
  values.dims = rnn::make_dims(int_in_range(env, hidden, "model.hidden", 1, kMaxHidden),
                               int_in_range(env, vocab, "model.vocab", 1, kMaxVocab));
  if (values.dims.total > kMaxParameters)
    throw_range(env, "model has " + std::to_string(values.dims.total) + " parameters; at most " +
                         std::to_string(kMaxParameters));
  return values;
}

rnn::Hyper read_hyper(Napi::Env env, Napi::Value v) {
  const Napi::Object o = object_arg(env, v, "options");
  const Napi::Value seq = o.Get("seqLength"), eta = o.Get("eta"), epsilon = o.Get("epsilon"),
                    clip = o.Get("clip");
  rnn::Hyper hp;
  hp.seq_length = int_in_range(env, seq, "options.seqLength", 1, kMaxSeqLength);
  hp.eta = positive_float(env, eta, "options.eta");
  hp.epsilon = positive_float(env, epsilon, "options.epsilon");
  hp.clip = positive_float(env, clip, "options.clip");
  return hp;
}

// ---- phase 2: typed arrays (no JS runs from here on) ----

struct Array {
  void* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type = napi_int8_array;
};

Array typed_array(Napi::Env env, Napi::Value v, std::initializer_list<napi_typedarray_type> types,
                  const char* type_names, const char* name) {
  Array a;
  bool ok = v.IsTypedArray();
  if (ok) {
    napi_value buffer;
    size_t offset;
    NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, v, &a.type, &a.length, &a.data,
                                                       &buffer, &offset),
                         a);
    ok = false;
    for (auto t : types) ok = ok || t == a.type;
  }
  if (!ok) throw_type(env, std::string(name) + " must be " + type_names);
  if (a.data == nullptr && a.length > 0) throw_type(env, std::string(name) + " is detached");
  return a;
}

template <typename T>
T* typed_array_of_length(Napi::Env env, Napi::Value v, napi_typedarray_type type,
                         const char* type_name, const char* name, size_t length) {
  const Array a = typed_array(env, v, {type}, type_name, name);
  if (a.length != length)
    throw_range(env, std::string(name) + " must have length " + std::to_string(length) +
                         ", got " + std::to_string(a.length));
  return static_cast<T*>(a.data);
}

float* float32_array(Napi::Env env, Napi::Value v, const char* name, size_t length) {
  return typed_array_of_length<float>(env, v, napi_float32_array, "a Float32Array", name, length);
}

void check_disjoint(Napi::Env env, const float* a, size_t na, const float* b, size_t nb,
                    const char* what) {
  if (a < b + nb && b < a + na) throw_range(env, std::string(what) + " must not overlap");
}

struct Model {
  rnn::Dims dims;
  float* params = nullptr;
  float* grads = nullptr;
  float* accum = nullptr;
  float* state = nullptr;
};

Model resolve_model(Napi::Env env, const ModelValues& values, bool with_grads, bool with_accum) {
  Model model;
  model.dims = values.dims;
  const size_t P = model.dims.total, m = model.dims.m;
  model.params = float32_array(env, values.params, "model.params", P);
  model.state = float32_array(env, values.state, "model.state", m);
  check_disjoint(env, model.params, P, model.state, m, "model.params and model.state");
  if (with_grads) {
    model.grads = float32_array(env, values.grads, "model.grads", P);
    check_disjoint(env, model.grads, P, model.params, P, "model.grads and model.params");
    check_disjoint(env, model.grads, P, model.state, m, "model.grads and model.state");
  }
  if (with_accum) {
    model.accum = float32_array(env, values.accum, "model.accum", P);
    check_disjoint(env, model.accum, P, model.params, P, "model.accum and model.params");
    check_disjoint(env, model.accum, P, model.grads, P, "model.accum and model.grads");
    check_disjoint(env, model.accum, P, model.state, m, "model.accum and model.state");
  }
  return model;
}

// A copy of an Int32Array of symbols, each in [0, K). Copied, so that an input viewing the same
// memory as a buffer the kernel writes can never turn into an out-of-range index.
std::vector<int32_t> symbols_arg(Napi::Env env, Napi::Value v, const char* name, int K) {
  const Array a = typed_array(env, v, {napi_int32_array}, "an Int32Array", name);
  const auto* x = static_cast<const int32_t*>(a.data);
  std::vector<int32_t> copy(x, x + a.length);
  for (size_t i = 0; i < copy.size(); ++i)
    if (copy[i] < 0 || copy[i] >= K)
      throw_range(env, std::string(name) + "[" + std::to_string(i) + "] = " +
                           std::to_string(copy[i]) + " is outside the vocabulary [0, " +
                           std::to_string(K) + ")");
  return copy;
}

void check_workspace(Napi::Env env, const rnn::Dims& d, size_t T) {
  const size_t floats = (T + 1) * d.m + T * d.m + T * d.K;  // T ≤ 2^20, m, K ≤ 2^16: no overflow
  if (floats > kMaxWorkspaceFloats)
    throw_range(env, "seqLength × (2·hidden + vocab) = " + std::to_string(floats) +
                         " scratch floats; at most " + std::to_string(kMaxWorkspaceFloats));
}

// Runs a kernel, turning an allocation failure into a JS error instead of std::terminate.
template <typename F>
auto guarded(Napi::Env env, F kernel) {
  try {
    return kernel();
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "rnn-native: out of memory");
  }
}

// ---- exports ----

// lossAndGradients(model, inputs: Int32Array, targets: Int32Array): number
Napi::Value LossAndGradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelValues values = read_model(env, info[0]);
  const Model model = resolve_model(env, values, true, false);
  const std::vector<int32_t> x = symbols_arg(env, info[1], "inputs", model.dims.K);
  const std::vector<int32_t> y = symbols_arg(env, info[2], "targets", model.dims.K);
  const size_t T = x.size();
  if (T == 0 || T > static_cast<size_t>(kMaxSeqLength))
    throw_range(env, "inputs must hold 1 to " + std::to_string(kMaxSeqLength) + " symbols");
  if (y.size() != T) throw_range(env, "targets must have the same length as inputs");
  check_workspace(env, model.dims, T);
  const double loss = guarded(env, [&] {
    rnn::Workspace ws;
    return rnn::loss_and_gradients(model.dims, model.params, model.grads, model.state, x.data(),
                                   y.data(), static_cast<int>(T), ws);
  });
  return Napi::Number::New(env, loss);
}

// train(model, corpus: Uint8Array | Uint16Array, walk: Float64Array [position, epoch],
//       options: {seqLength, eta, epsilon, clip}, losses: Float64Array): undefined
// Runs losses.length updates.
Napi::Value Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelValues values = read_model(env, info[0]);
  const rnn::Hyper hp = read_hyper(env, info[3]);

  const Model model = resolve_model(env, values, true, true);
  const Array corpus_array = typed_array(env, info[1], {napi_uint8_array, napi_uint16_array},
                                         "a Uint8Array or Uint16Array", "corpus");
  rnn::Corpus corpus;
  corpus.data = corpus_array.data;
  corpus.length = corpus_array.length;
  corpus.element_size = corpus_array.type == napi_uint8_array ? 1 : 2;
  double* walk =
      typed_array_of_length<double>(env, info[2], napi_float64_array, "a Float64Array", "walk", 2);
  const Array losses = typed_array(env, info[4], {napi_float64_array}, "a Float64Array", "losses");

  if (corpus.length < static_cast<size_t>(hp.seq_length) + 1)
    throw_range(env, "corpus must hold at least options.seqLength + 1 symbols");
  if (!(walk[0] >= 0 && walk[0] <= static_cast<double>(corpus.length)) ||
      std::floor(walk[0]) != walk[0])
    throw_range(env, "walk[0] (position) must be an integer from 0 to the corpus length");
  if (!std::isfinite(walk[1])) throw_range(env, "walk[1] (epoch) must be finite");
  check_workspace(env, model.dims, hp.seq_length);

  rnn::Walk w{walk[0], walk[1]};
  const bool ok = guarded(env, [&] {
    rnn::Workspace ws;
    return rnn::train(model.dims, model.params, model.grads, model.accum, model.state, corpus, w,
                      hp, losses.length, static_cast<double*>(losses.data), ws);
  });
  walk[0] = w.position;
  walk[1] = w.epoch;
  if (!ok) throw_range(env, "corpus holds a symbol outside the vocabulary [0, model.vocab)");
  return env.Undefined();
}

// advance(model, inputs: Int32Array): undefined — feeds the symbols, updating model.state.
Napi::Value Advance(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelValues values = read_model(env, info[0]);
  const Model model = resolve_model(env, values, false, false);
  const std::vector<int32_t> x = symbols_arg(env, info[1], "inputs", model.dims.K);
  guarded(env, [&] { rnn::advance(model.dims, model.params, model.state, x.data(), x.size()); });
  return env.Undefined();
}

// sample(model, first: number, temperature: number, rng: Uint32Array(4), out: Int32Array)
// Fills out with drawn symbols, updating model.state and the generator state.
Napi::Value Sample(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelValues values = read_model(env, info[0]);
  const int first = int_in_range(env, info[1], "first", 0, values.dims.K - 1);
  const double temperature = number_arg(env, info[2], "temperature");
  if (!(temperature >= 0 && std::isfinite(temperature)))
    throw_range(env, "temperature must be a finite number ≥ 0");

  const Model model = resolve_model(env, values, false, false);
  uint32_t* rng =
      typed_array_of_length<uint32_t>(env, info[3], napi_uint32_array, "a Uint32Array", "rng", 4);
  const Array out = typed_array(env, info[4], {napi_int32_array}, "an Int32Array", "out");
  if ((rng[0] | rng[1] | rng[2] | rng[3]) == 0) throw_range(env, "rng state must not be all zero");
  guarded(env, [&] {
    rnn::sample(model.dims, model.params, model.state, first, temperature, rng,
                static_cast<int32_t*>(out.data), out.length);
  });
  return env.Undefined();
}

// limits(): {maxHidden, maxVocabulary, maxSeqLength, maxWorkspaceFloats, maxParameters}, as built.
Napi::Value Limits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("maxHidden", kMaxHidden);
  limits.Set("maxVocabulary", kMaxVocab);
  limits.Set("maxSeqLength", kMaxSeqLength);
  limits.Set("maxWorkspaceFloats", static_cast<double>(kMaxWorkspaceFloats));
  limits.Set("maxParameters", static_cast<double>(kMaxParameters));
  return limits;
}

// parameterLayout(hidden, vocab): [{name, shape, init, offset, length}] as the kernel computes it.
Napi::Value ParameterLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const rnn::Dims d = rnn::make_dims(int_in_range(env, info[0], "hidden", 1, kMaxHidden),
                                     int_in_range(env, info[1], "vocab", 1, kMaxVocab));
  Napi::Array entries = Napi::Array::New(env, d.parameters.size());
  for (size_t i = 0; i < d.parameters.size(); ++i) {
    const rnn::Parameter& p = d.parameters[i];
    Napi::Array shape = Napi::Array::New(env, p.cols == 0 ? 1 : 2);
    shape.Set(uint32_t{0}, p.rows);
    if (p.cols != 0) shape.Set(uint32_t{1}, p.cols);
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", p.name);
    entry.Set("shape", shape);
    entry.Set("init", p.init == rnn::Init::Normal ? "normal" : "zero");
    entry.Set("offset", static_cast<double>(p.offset));
    entry.Set("length", static_cast<double>(p.length));
    entries.Set(static_cast<uint32_t>(i), entry);
  }
  return entries;
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
  exports.Set("limits", Napi::Function::New(env, Limits, "limits"));
  exports.Set("parameterLayout", Napi::Function::New(env, ParameterLayout, "parameterLayout"));
  return exports;
}

}  // namespace

NODE_API_MODULE(rnn_native, Init)

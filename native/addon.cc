// Node-API boundary of rnn-native. Every export checks its arguments and throws a JS
// TypeError (wrong type) or RangeError (wrong size or value); nothing here aborts the process.
// The typed arrays are used in place (zero-copy); lib/engine/native.ts declares the same signatures.
//
// Each export works in two phases. First it reads every object property and number: property
// reads can run JS (getters, proxies) that could detach or resize a buffer. Only then does it
// take the typed arrays' pointers and lengths, and no JS runs from there to the end of the call.
#include <napi.h>
#include <cblas.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "rnn.h"
#include "stacked.h"

namespace {

// From lib/model-limits.json (CMakeLists.txt passes them), the limits lib/model/limits.ts checks first.
constexpr int kMaxHidden = RNN_LIMIT_MAXHIDDEN;
constexpr int kMaxVocab = RNN_LIMIT_MAXVOCABULARY;
constexpr int kMaxSeqLength = RNN_LIMIT_MAXSEQLENGTH;
// Scratch floats one sequence may need: (T+1)·m + T·m + T·K.
constexpr size_t kMaxWorkspaceFloats = RNN_LIMIT_MAXWORKSPACEFLOATS;
constexpr size_t kMaxParameters = RNN_LIMIT_MAXPARAMETERS;
// OpenBLAS threads a StackedModel may use (lib/model/config.ts's --threads has the same range).
constexpr int kMaxThreads = 16;
constexpr int kMaxLayers = RNN_LIMIT_MAXLAYERS;
constexpr int kMaxStreams = RNN_LIMIT_MAXSTREAMS;

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

// The model argument {hidden, vocab, params, state, grads?, accum?} (lib/engine/native.ts), read.
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
  limits.Set("maxLayers", kMaxLayers);
  limits.Set("maxStreams", kMaxStreams);
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

// ---- the general model of issue 10 (native/stacked.h) ----

stacked::Cell cell_arg(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsString()) throw_type(env, std::string(name) + " must be a string");
  const std::string cell = v.As<Napi::String>().Utf8Value();
  if (cell == "rnn") return stacked::Cell::Rnn;
  if (cell == "lstm") return stacked::Cell::Lstm;
  if (cell == "gru") return stacked::Cell::Gru;
  throw_range(env, std::string(name) + " must be 'rnn', 'lstm' or 'gru'");
}

stacked::Shape stacked_shape(Napi::Env env, Napi::Value cell, Napi::Value vocab, Napi::Value hidden,
                             Napi::Value layers, const std::string& prefix) {
  stacked::Shape s;
  s.cell = cell_arg(env, cell, (prefix + "cell").c_str());
  s.vocab = int_in_range(env, vocab, (prefix + "vocab").c_str(), 1, kMaxVocab);
  s.hidden = int_in_range(env, hidden, (prefix + "hidden").c_str(), 1, kMaxHidden);
  s.layers = int_in_range(env, layers, (prefix + "layers").c_str(), 1, kMaxLayers);
  const size_t count = stacked::parameter_count(s);  // < 2^50 within the limits above
  if (count > kMaxParameters)
    throw_range(env, "the model has " + std::to_string(count) + " parameters; at most " +
                         std::to_string(kMaxParameters));
  return s;
}

// The scratch floats a model of B streams and T steps needs, refused above the limit.
size_t checked_scratch(Napi::Env env, const stacked::Shape& s, int B, int T) {
  const size_t scratch = stacked::scratch_floats(s, B, T);  // < 2^60 within the limits
  if (scratch > kMaxWorkspaceFloats)
    throw_range(env, "the model needs " + std::to_string(scratch) +
                         " scratch floats (streams × seqLength × layers × hidden …); at most " +
                         std::to_string(kMaxWorkspaceFloats));
  return scratch;
}

// A safe integer (|x| ≤ 2^53 − 1) of at least `lo`.
int64_t safe_integer(Napi::Env env, Napi::Value v, const char* name, double lo) {
  const double x = number_arg(env, v, name);
  if (!(x >= lo && std::fabs(x) <= 9007199254740991.0) || std::floor(x) != x)
    throw_range(env, std::string(name) + " must be a safe integer" +
                         (lo > -9007199254740991.0 ? " ≥ " + std::to_string(static_cast<int64_t>(lo)) : ""));
  return static_cast<int64_t>(x);
}

// A number in [0, 1).
double unit_interval(Napi::Env env, Napi::Value v, const char* name) {
  const double x = number_arg(env, v, name);
  if (!(x >= 0 && x < 1)) throw_range(env, std::string(name) + " must be a number in [0, 1)");
  return x;
}

// Byte ranges of two typed arrays (of any element types) must not overlap.
void check_apart(Napi::Env env, const void* a, size_t a_bytes, const void* b, size_t b_bytes,
                 const std::string& what) {
  const auto* pa = static_cast<const char*>(a);
  const auto* pb = static_cast<const char*>(b);
  if (a_bytes > 0 && b_bytes > 0 && pa < pb + b_bytes && pb < pa + a_bytes)
    throw_range(env, what + " must not overlap");
}

// Symbols checked in place (no copy: the caller checks they do not overlap what the kernel writes).
const int32_t* symbols_in_place(Napi::Env env, Napi::Value v, const char* name, int K, size_t* n) {
  const Array a = typed_array(env, v, {napi_int32_array}, "an Int32Array", name);
  const auto* x = static_cast<const int32_t*>(a.data);
  for (size_t i = 0; i < a.length; ++i)
    if (x[i] < 0 || x[i] >= K)
      throw_range(env, std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(x[i]) +
                           " is outside the vocabulary [0, " + std::to_string(K) + ")");
  *n = a.length;
  return x;
}

// new StackedModel(spec): see lib/engine/native.ts StackedNativeSpec. The spec is checked once here;
// the typed arrays are kept alive by references, and each call takes their pointers again (and
// checks their lengths, so a detached buffer is refused rather than used).
class StackedModel : public Napi::ObjectWrap<StackedModel> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "StackedModel",
                       {InstanceMethod("forwardBackward", &StackedModel::ForwardBackward),
                        InstanceMethod("optimize", &StackedModel::Optimize),
                        InstanceMethod("advance", &StackedModel::Advance),
                        InstanceMethod("sample", &StackedModel::Sample),
                        InstanceMethod("setThreads", &StackedModel::SetThreads)});
  }

  explicit StackedModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StackedModel>(info) {
    Napi::Env env = info.Env();
    const Napi::Object spec = object_arg(env, info[0], "spec");
    const Napi::Value cell = spec.Get("cell"), vocab = spec.Get("vocab"),
                      hidden = spec.Get("hidden"), layers = spec.Get("layers"),
                      streams = spec.Get("streams"), seq = spec.Get("seqLength");
    const Napi::Value params = spec.Get("params"), grads = spec.Get("grads"), h = spec.Get("h"),
                      c = spec.Get("c");
    const stacked::Shape s = stacked_shape(env, cell, vocab, hidden, layers, "spec.");
    const int B = int_in_range(env, streams, "spec.streams", 1, kMaxStreams);
    const int T = int_in_range(env, seq, "spec.seqLength", 1, kMaxSeqLength);
    const size_t scratch = checked_scratch(env, s, B, T);
    parameters_ = stacked::parameter_count(s);
    state_length_ = static_cast<size_t>(s.layers) * B * s.hidden;

    const Bound bound = Bound{float32_array(env, params, "spec.params", parameters_),
                              float32_array(env, grads, "spec.grads", parameters_),
                              float32_array(env, h, "spec.h", state_length_),
                              float32_array(env, c, "spec.c", state_length_)};
    const size_t P = parameters_ * sizeof(float), S = state_length_ * sizeof(float);
    check_apart(env, bound.params, P, bound.grads, P, "spec.params and spec.grads");
    check_apart(env, bound.params, P, bound.h, S, "spec.params and spec.h");
    check_apart(env, bound.params, P, bound.c, S, "spec.params and spec.c");
    check_apart(env, bound.grads, P, bound.h, S, "spec.grads and spec.h");
    check_apart(env, bound.grads, P, bound.c, S, "spec.grads and spec.c");
    check_apart(env, bound.h, S, bound.c, S, "spec.h and spec.c");
    params_ = Napi::Persistent(params.As<Napi::Object>());
    grads_ = Napi::Persistent(grads.As<Napi::Object>());
    h_ = Napi::Persistent(h.As<Napi::Object>());
    c_ = Napi::Persistent(c.As<Napi::Object>());
    model_ = guarded(env, [&] { return std::make_unique<stacked::SplitModel>(s, B, T, 1); });
    report_scratch(env, scratch);
  }

  ~StackedModel() override {
    int64_t total;
    if (external_bytes_ > 0) napi_adjust_external_memory(Env(), -external_bytes_, &total);
  }

 private:
  int threads_ = 1;

  // The scratch is outside V8's heap: without telling V8, it would see no reason to collect a
  // dropped model, and each one would hold its scratch (up to 1 GiB) for ever.
  void report_scratch(Napi::Env env, size_t floats) {
    const int64_t bytes = static_cast<int64_t>(floats * sizeof(float));
    int64_t total;
    napi_adjust_external_memory(env, bytes - external_bytes_, &total);
    external_bytes_ = bytes;
  }

  struct Bound {
    float* params;
    float* grads;
    float* h;
    float* c;
  };

  // Phase 2 of every call: the kept arrays' pointers, handed to the kernel.
  Bound bind(Napi::Env env) {
    Bound b{float32_array(env, params_.Value(), "spec.params", parameters_),
            float32_array(env, grads_.Value(), "spec.grads", parameters_),
            float32_array(env, h_.Value(), "spec.h", state_length_),
            float32_array(env, c_.Value(), "spec.c", state_length_)};
    model_->bind(b.params, b.grads, b.h, b.c);
    return b;
  }

  // Refuses an array the kernel reads while writing `b`'s grads, h or c (or params, when written).
  void check_apart_from_written(Napi::Env env, const Bound& b, const void* data, size_t bytes,
                                const std::string& name, bool params_written) {
    const size_t P = parameters_ * sizeof(float), S = state_length_ * sizeof(float);
    check_apart(env, data, bytes, b.grads, P, name + " and spec.grads");
    check_apart(env, data, bytes, b.h, S, name + " and spec.h");
    check_apart(env, data, bytes, b.c, S, name + " and spec.c");
    if (params_written) check_apart(env, data, bytes, b.params, P, name + " and spec.params");
  }

  // forwardBackward(x, y, gradients, dropout, seed, update): number
  Napi::Value ForwardBackward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[2].IsBoolean()) throw_type(env, "gradients must be a boolean");
    const bool gradients = info[2].As<Napi::Boolean>().Value();
    const double dropout = unit_interval(env, info[3], "dropout");
    const int64_t seed = safe_integer(env, info[4], "seed", -9007199254740991.0);
    const int64_t update = safe_integer(env, info[5], "update", 0);

    const Bound b = bind(env);
    const int K = model_->shape().vocab, B = model_->streams();
    size_t nx = 0, ny = 0;
    const int32_t* x = symbols_in_place(env, info[0], "x", K, &nx);
    const int32_t* y = symbols_in_place(env, info[1], "y", K, &ny);
    if (ny != nx) throw_range(env, "y must have the same length as x");
    if (nx == 0 || nx % B != 0 || nx / B > static_cast<size_t>(model_->seq_length()))
      throw_range(env, "x must hold steps × streams symbols (streams = " + std::to_string(B) +
                           ", 1 ≤ steps ≤ seqLength = " + std::to_string(model_->seq_length()) +
                           "), got " + std::to_string(nx));
    check_apart_from_written(env, b, x, nx * sizeof(int32_t), "x", false);
    check_apart_from_written(env, b, y, ny * sizeof(int32_t), "y", false);
    // With fewer streams than threads (one), the threads go to OpenBLAS, whose count is global:
    // this model's for its multiplies, then back to the one thread everything else runs on.
    const bool blas_threads = threads_ > 1 && model_->parts() == 1;
    if (blas_threads) openblas_set_num_threads(threads_);
    const double loss = model_->forward_backward(x, y, static_cast<int>(nx / B), gradients,
                                                 dropout, seed, update);
    if (blas_threads) openblas_set_num_threads(1);
    return Napi::Number::New(env, loss);
  }

  // setThreads(n), 1 to kMaxThreads: forwardBackward's streams split into min(n, streams) groups,
  // one thread each (stacked::SplitModel); a model of one stream gives OpenBLAS the n threads.
  Napi::Value SetThreads(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int threads = int_in_range(env, info[0], "threads", 1, kMaxThreads);
    const int parts = std::min(threads, model_->streams());
    if (parts != model_->parts()) {
      const stacked::Shape s = model_->shape();
      const int B = model_->streams(), T = model_->seq_length();
      const size_t scratch = stacked::SplitModel::scratch_floats(s, B, T, parts);
      if (scratch > kMaxWorkspaceFloats)
        throw_range(env, std::to_string(threads) + " threads need " + std::to_string(scratch) +
                             " scratch floats (a model's gradients per thread); at most " +
                             std::to_string(kMaxWorkspaceFloats));
      // Made before the old one goes: a failed allocation leaves the model as it was.
      model_ = guarded(env, [&] { return std::make_unique<stacked::SplitModel>(s, B, T, parts); });
      report_scratch(env, scratch);
    }
    threads_ = threads;
    return env.Undefined();
  }

  // optimize(settings, second, first, step): undefined
  Napi::Value Optimize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Napi::Object o = object_arg(env, info[0], "settings");
    const Napi::Value kind = o.Get("kind"), eta = o.Get("eta"), epsilon = o.Get("epsilon"),
                      clip = o.Get("clip"), decay = o.Get("decay"), beta1 = o.Get("beta1"),
                      beta2 = o.Get("beta2");
    stacked::OptimizerSettings settings;
    if (!kind.IsString()) throw_type(env, "settings.kind must be a string");
    const std::string name = kind.As<Napi::String>().Utf8Value();
    if (name == "adagrad") settings.kind = stacked::OptimizerKind::Adagrad;
    else if (name == "rmsprop") settings.kind = stacked::OptimizerKind::Rmsprop;
    else if (name == "adam") settings.kind = stacked::OptimizerKind::Adam;
    else throw_range(env, "settings.kind must be 'adagrad', 'rmsprop' or 'adam'");
    settings.eta = positive_float(env, eta, "settings.eta");
    settings.epsilon = positive_float(env, epsilon, "settings.epsilon");
    settings.clip = positive_float(env, clip, "settings.clip");
    settings.decay = unit_interval(env, decay, "settings.decay");
    settings.beta1 = unit_interval(env, beta1, "settings.beta1");
    settings.beta2 = unit_interval(env, beta2, "settings.beta2");
    const int64_t step = safe_integer(env, info[3], "step", 1);

    const Bound b = bind(env);
    const size_t P = parameters_;
    float* second = float32_array(env, info[1], "second", P);
    const bool adam = settings.kind == stacked::OptimizerKind::Adam;
    const Array first = typed_array(env, info[2], {napi_float32_array}, "a Float32Array", "first");
    if (first.length != (adam ? P : 0) && first.length != P)
      throw_range(env, "first must have length " + std::to_string(P) +
                           (adam ? "" : " or 0") + ", got " + std::to_string(first.length));
    check_apart_from_written(env, b, second, P * sizeof(float), "second", true);
    check_apart_from_written(env, b, first.data, first.length * sizeof(float), "first", true);
    check_apart(env, second, P * sizeof(float), first.data, first.length * sizeof(float),
                "second and first");
    stacked::optimize(settings, P, b.params, b.grads, second, static_cast<float*>(first.data),
                      static_cast<double>(step));
    return env.Undefined();
  }

  void require_one_stream(Napi::Env env, const char* what) {
    if (model_->streams() != 1)
      throw_range(env, std::string(what) + " needs a model of one stream (this one has " +
                           std::to_string(model_->streams()) + ")");
  }

  // advance(symbols): undefined
  Napi::Value Advance(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_one_stream(env, "advance");
    const Bound b = bind(env);
    size_t n = 0;
    const int32_t* x = symbols_in_place(env, info[0], "symbols", model_->shape().vocab, &n);
    check_apart_from_written(env, b, x, n * sizeof(int32_t), "symbols", false);
    model_->single().advance(x, n);
    return env.Undefined();
  }

  // sample(first, temperature, rng, out): undefined
  Napi::Value Sample(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    require_one_stream(env, "sample");
    const int first = int_in_range(env, info[0], "first", 0, model_->shape().vocab - 1);
    const double temperature = number_arg(env, info[1], "temperature");
    if (!(temperature >= 0 && std::isfinite(temperature)))
      throw_range(env, "temperature must be a finite number ≥ 0");

    const Bound b = bind(env);
    uint32_t* rng = typed_array_of_length<uint32_t>(env, info[2], napi_uint32_array,
                                                    "a Uint32Array", "rng", 4);
    const Array out = typed_array(env, info[3], {napi_int32_array}, "an Int32Array", "out");
    if ((rng[0] | rng[1] | rng[2] | rng[3]) == 0) throw_range(env, "rng state must not be all zero");
    check_apart_from_written(env, b, rng, 4 * sizeof(uint32_t), "rng", true);
    check_apart_from_written(env, b, out.data, out.length * sizeof(int32_t), "out", true);
    check_apart(env, rng, 4 * sizeof(uint32_t), out.data, out.length * sizeof(int32_t),
                "rng and out");
    model_->single().sample(first, temperature, rng, static_cast<int32_t*>(out.data), out.length);
    return env.Undefined();
  }

  std::unique_ptr<stacked::SplitModel> model_;
  Napi::ObjectReference params_, grads_, h_, c_;
  size_t parameters_ = 0, state_length_ = 0;
  int64_t external_bytes_ = 0;  // reported to V8 (napi_adjust_external_memory) while the model lives
};

// stackedLayout(cell, vocab, hidden, layers): [{name, shape, offset, length}] as the kernel has it.
Napi::Value StackedLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const stacked::Shape s = stacked_shape(env, info[0], info[1], info[2], info[3], "");
  const std::vector<stacked::Parameter> table = stacked::layout(s);
  Napi::Array entries = Napi::Array::New(env, table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    const stacked::Parameter& p = table[i];
    Napi::Array shape = Napi::Array::New(env, p.shape.size());
    for (size_t d = 0; d < p.shape.size(); ++d) shape.Set(static_cast<uint32_t>(d), p.shape[d]);
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", p.name);
    entry.Set("shape", shape);
    entry.Set("offset", static_cast<double>(p.offset));
    entry.Set("length", static_cast<double>(p.length));
    entries.Set(static_cast<uint32_t>(i), entry);
  }
  return entries;
}

// (cell, vocab, hidden, layers, streams, seqLength) → the plan of one update's multiplies,
// checked as a StackedModel's spec.
std::vector<stacked::Matmul> stacked_plan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const stacked::Shape s = stacked_shape(env, info[0], info[1], info[2], info[3], "");
  const int B = int_in_range(env, info[4], "streams", 1, kMaxStreams);
  const int T = int_in_range(env, info[5], "seqLength", 1, kMaxSeqLength);
  checked_scratch(env, s, B, T);
  return guarded(env, [&] { return stacked::matmul_plan(s, B, T); });
}

// stackedMatmulPlan(cell, vocab, hidden, layers, streams, seqLength):
// [{m, n, k, transA, transB, count}] — one update's multiplies (C m × n, inner k), equal ones
// grouped, in the order the kernel first issues them.
Napi::Value StackedMatmulPlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<stacked::Matmul> plan = stacked_plan(info);
  struct Group {
    const stacked::Matmul* first;
    int count;
  };
  std::vector<Group> groups;
  for (const stacked::Matmul& g : plan) {
    auto same = [&](const Group& e) {
      return e.first->M == g.M && e.first->N == g.N && e.first->K == g.K &&
             e.first->trans_a == g.trans_a && e.first->trans_b == g.trans_b;
    };
    auto found = std::find_if(groups.begin(), groups.end(), same);
    if (found == groups.end())
      groups.push_back({&g, 1});
    else
      ++found->count;
  }
  Napi::Array entries = Napi::Array::New(env, groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    const stacked::Matmul& g = *groups[i].first;
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("m", g.M);
    entry.Set("n", g.N);
    entry.Set("k", g.K);
    entry.Set("transA", g.trans_a);
    entry.Set("transB", g.trans_b);
    entry.Set("count", groups[i].count);
    entries.Set(static_cast<uint32_t>(i), entry);
  }
  return entries;
}

// stackedMatmulSeconds(cell, vocab, hidden, layers, streams, seqLength, reps): {seconds, flops}
// — one update's multiplies alone, per update (the median of reps runs after a warm-up).
Napi::Value StackedMatmulSeconds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int reps = int_in_range(env, info[6], "reps", 1, 10000);
  const std::vector<stacked::Matmul> plan = stacked_plan(info);
  const stacked::MatmulTiming timing =
      guarded(env, [&] { return stacked::time_matmul_plan(plan, reps); });
  Napi::Object result = Napi::Object::New(env);
  result.Set("seconds", timing.seconds);
  result.Set("flops", timing.flops);
  return result;
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
  exports.Set("StackedModel", StackedModel::Define(env));
  exports.Set("stackedLayout", Napi::Function::New(env, StackedLayout, "stackedLayout"));
  exports.Set("stackedMatmulPlan", Napi::Function::New(env, StackedMatmulPlan, "stackedMatmulPlan"));
  exports.Set("stackedMatmulSeconds",
              Napi::Function::New(env, StackedMatmulSeconds, "stackedMatmulSeconds"));
  return exports;
}

}  // namespace

NODE_API_MODULE(rnn_native, Init)

// The C ABI of the WebAssembly build: the kernels over the module's memory, behind the argument
// checks the addon makes (native/checks.h). lib/engine/wasm.ts is the other half: for a call it reads
// the JavaScript values the addon reads, in the same order, into WasmValue records (copying each
// typed array's bytes into the module), calls here, throws the refusal if there is one, and copies
// back what the kernel wrote. No check is written twice.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "checks.h"

#define EXPORT(name) extern "C" __attribute__((export_name(#name)))

namespace {

// One JavaScript value as lib/engine/wasm.ts writes it (32 bytes).
struct WasmValue {
  int32_t type;    // checks::Type
  uint32_t data;   // a typed array's copy, or a string's UTF-8 bytes, in this module
  double number;   // a Number; a Boolean as 0 or 1
  double length;   // a typed array's elements; a string's bytes
  double address;  // a typed array: where its bytes lie in JavaScript's memory (for overlaps)
};
static_assert(sizeof(WasmValue) == 32, "lib/engine/wasm.ts writes 32-byte records");

checks::Value value_of(const WasmValue& w) {
  checks::Value v;
  v.type = static_cast<checks::Type>(w.type);
  v.number = w.number;
  void* data = reinterpret_cast<void*>(static_cast<uintptr_t>(w.data));
  if (v.type == checks::Type::String) {
    v.text.assign(static_cast<const char*>(data), static_cast<size_t>(w.length));
  } else {
    v.data = data;
    v.length = static_cast<size_t>(w.length);
    v.address = static_cast<uint64_t>(w.address);
  }
  return v;
}

// Fills the members of `values` from records in the order `properties` lists them, after the
// record of the object itself.
template <typename Values, size_t N>
Values object_of(const WasmValue* records, checks::Value Values::*self,
                 const std::pair<const char*, checks::Value Values::*> (&properties)[N]) {
  Values values;
  values.*self = value_of(records[0]);
  for (size_t i = 0; i < N; ++i) values.*(properties[i].second) = value_of(records[1 + i]);
  return values;
}

template <typename Values, size_t N>
std::string names_of(const std::pair<const char*, checks::Value Values::*> (&properties)[N]) {
  std::string names;
  for (size_t i = 0; i < N; ++i) names += std::string(i ? "," : "") + properties[i].first;
  return names;
}

// A NUL-terminated copy in malloc'd memory, for lib/engine/wasm.ts to read and free.
const char* owned(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out != nullptr) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

std::string refusal;  // the last call's message (the module runs one call at a time)

// 0 when the call's checks passed, else 1 (TypeError) or 2 (RangeError), with the message kept
// (vanilla_train: 3, a RangeError of the kernel's).
int32_t status_of(const checks::Checks& c) {
  if (c.ok()) return 0;
  refusal = c.message();
  return c.error() == checks::Error::Type ? 1 : 2;
}

std::string shape_json(const std::vector<int>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out + "]";
}

// The checked spec a model was made with, as lib/engine/wasm.ts keeps it: cell, vocab, hidden, layers,
// streams, seqLength.
checks::Spec spec_of(const int32_t* kept) {
  checks::Spec s;
  s.shape = {static_cast<stacked::Cell>(kept[0]), kept[1], kept[2], kept[3]};
  s.streams = kept[4];
  s.seq_length = kept[5];
  s.parameters = stacked::parameter_count(s.shape);
  s.state_length = static_cast<size_t>(s.shape.layers) * s.streams * s.shape.hidden;
  return s;
}

checks::Arrays arrays_of(const WasmValue* v) {
  return {value_of(v[0]), value_of(v[1]), value_of(v[2]), value_of(v[3])};
}

// A kernel model for one call (its scratch is freed with it: the module's memory is outside V8's
// heap, so nothing would tell V8 to collect a model that kept it), on the call's copies.
std::unique_ptr<stacked::Model> bound_model(const checks::Spec& s, const checks::Arrays& a) {
  auto model = std::make_unique<stacked::Model>(s.shape, s.streams, s.seq_length);
  model->bind(static_cast<float*>(a.params.data), static_cast<float*>(a.grads.data),
              static_cast<float*>(a.h.data), static_cast<float*>(a.c.data));
  return model;
}

}  // namespace

// ---- the module ----

EXPORT(refusal_message) const char* refusal_message() { return refusal.c_str(); }

// The names of an object argument's properties, in the order a call reads them: 0 a Model's
// spec, 1 optimize's settings, 2 the vanilla exports' model, 3 train's options.
EXPORT(property_names) const char* property_names(int32_t which) {
  switch (which) {
    case 0:
      return owned(names_of(checks::kSpecProperties));
    case 1:
      return owned(names_of(checks::kSettingsProperties));
    case 2:
      return owned(names_of(checks::kVanillaProperties));
    default:
      return owned(names_of(checks::kHyperProperties));
  }
}

// The limits the module was compiled with (lib/model-limits.json), as JSON.
EXPORT(limits_json) const char* limits_json() {
  return owned("{\"maxHidden\":" + std::to_string(checks::kMaxHidden) +
               ",\"maxVocabulary\":" + std::to_string(checks::kMaxVocab) +
               ",\"maxSeqLength\":" + std::to_string(checks::kMaxSeqLength) +
               ",\"maxWorkspaceFloats\":" + std::to_string(checks::kMaxWorkspaceFloats) +
               ",\"maxParameters\":" + std::to_string(checks::kMaxParameters) +
               ",\"maxLayers\":" + std::to_string(checks::kMaxLayers) +
               ",\"maxStreams\":" + std::to_string(checks::kMaxStreams) +
               ",\"maxThreads\":" + std::to_string(checks::kMaxThreads) + "}");
}

// ---- the model object ----

// new Model(spec): v = the spec, then its properties; kept = the 6 numbers later calls take.
EXPORT(model_new) int32_t model_new(const WasmValue* v, int32_t* kept) {
  checks::Checks c;
  const checks::Spec s =
      checks::spec(c, object_of(v, &checks::SpecValues::spec, checks::kSpecProperties));
  if (c.ok()) {
    const int32_t numbers[6] = {static_cast<int32_t>(s.shape.cell), s.shape.vocab, s.shape.hidden,
                                s.shape.layers, s.streams, s.seq_length};
    std::memcpy(kept, numbers, sizeof numbers);
  }
  return status_of(c);
}

// v = the spec's 4 arrays, then x, y, gradients, dropout, seed, update.
EXPORT(model_forward_backward)
int32_t model_forward_backward(const int32_t* kept, const WasmValue* v, double* loss) {
  const checks::Spec s = spec_of(kept);
  const checks::Arrays a = arrays_of(v);
  checks::Checks c;
  const checks::Block b = checks::forward_backward(c, s, a, value_of(v[4]), value_of(v[5]),
                                                   value_of(v[6]), value_of(v[7]), value_of(v[8]),
                                                   value_of(v[9]));
  if (!c.ok()) return status_of(c);
  *loss = bound_model(s, a)->forward_backward(b.x, b.y, b.steps, b.gradients, b.dropout, b.seed,
                                               b.update);
  return 0;
}

// v = the spec's 4 arrays, settings and its properties, then second, first, step.
EXPORT(model_optimize) int32_t model_optimize(const int32_t* kept, const WasmValue* v) {
  const checks::Spec s = spec_of(kept);
  const checks::Arrays a = arrays_of(v);
  const auto settings =
      object_of(v + 4, &checks::SettingsValues::settings, checks::kSettingsProperties);
  const WasmValue* args = v + 5 + std::size(checks::kSettingsProperties);
  checks::Checks c;
  const checks::Step u = checks::optimize(c, s, a, settings, value_of(args[0]),
                                          value_of(args[1]), value_of(args[2]));
  if (!c.ok()) return status_of(c);
  stacked::optimize(u.settings, s.parameters, static_cast<float*>(a.params.data),
                    static_cast<const float*>(a.grads.data), u.second, u.first, u.step);
  return 0;
}

// v = the spec's 4 arrays, then symbols.
EXPORT(model_advance) int32_t model_advance(const int32_t* kept, const WasmValue* v) {
  const checks::Spec s = spec_of(kept);
  const checks::Arrays a = arrays_of(v);
  checks::Checks c;
  const checks::Symbols x = checks::advance(c, s, a, value_of(v[4]));
  if (!c.ok()) return status_of(c);
  bound_model(s, a)->advance(x.data, x.length);
  return 0;
}

// v = the spec's 4 arrays, then first, temperature, rng, out.
EXPORT(model_sample) int32_t model_sample(const int32_t* kept, const WasmValue* v) {
  const checks::Spec s = spec_of(kept);
  const checks::Arrays a = arrays_of(v);
  checks::Checks c;
  const checks::Draws d = checks::sample(c, s, a, value_of(v[4]), value_of(v[5]), value_of(v[6]),
                                         value_of(v[7]));
  if (!c.ok()) return status_of(c);
  bound_model(s, a)->sample(d.first, d.temperature, d.rng, d.out, d.length);
  return 0;
}

// setThreads(threads): checked as the addon checks it; the module runs one thread whatever it is.
EXPORT(model_set_threads) int32_t model_set_threads(const WasmValue* v) {
  checks::Checks c;
  checks::threads(c, value_of(v[0]));
  return status_of(c);
}

// stackedLayout(cell, vocab, hidden, layers) as JSON: [{name, shape, offset, length}].
EXPORT(model_layout) int32_t model_layout(const WasmValue* v, const char** json) {
  checks::Checks c;
  const stacked::Shape s =
      checks::shape(c, value_of(v[0]), value_of(v[1]), value_of(v[2]), value_of(v[3]), "");
  if (!c.ok()) return status_of(c);
  std::string out = "[";
  for (const stacked::Parameter& p : stacked::layout(s))
    out += std::string(out.size() > 1 ? "," : "") + "{\"name\":\"" + p.name + "\",\"shape\":" +
           shape_json(p.shape) + ",\"offset\":" + std::to_string(p.offset) +
           ",\"length\":" + std::to_string(p.length) + "}";
  *json = owned(out + "]");
  return 0;
}

// ---- the vanilla exports (native/kernels/rnn.h), until lib/ trains that model through Model ----

namespace {

constexpr size_t kVanillaRecords = 1 + std::size(checks::kVanillaProperties);

checks::VanillaValues vanilla_model(const WasmValue* v) {
  return object_of(v, &checks::VanillaValues::model, checks::kVanillaProperties);
}

}  // namespace

// v = the model and its properties, then inputs, targets.
EXPORT(vanilla_loss_and_gradients)
int32_t vanilla_loss_and_gradients(const WasmValue* v, double* loss) {
  const WasmValue* args = v + kVanillaRecords;
  checks::Checks c;
  const checks::Sequence s =
      checks::loss_and_gradients(c, vanilla_model(v), value_of(args[0]), value_of(args[1]));
  if (!c.ok()) return status_of(c);
  rnn::Workspace ws;
  *loss = rnn::loss_and_gradients(s.model.dims, s.model.params, s.model.grads, s.model.state,
                                  s.x.data(), s.y.data(), static_cast<int>(s.x.size()), ws);
  return 0;
}

// v = the model and its properties, corpus, walk, the options and their properties, losses.
EXPORT(vanilla_train) int32_t vanilla_train(const WasmValue* v) {
  const WasmValue* args = v + kVanillaRecords;
  const auto options = object_of(args + 2, &checks::HyperValues::options, checks::kHyperProperties);
  const WasmValue& losses = args[3 + std::size(checks::kHyperProperties)];
  checks::Checks c;
  const checks::Training t = checks::train(c, vanilla_model(v), value_of(args[0]),
                                           value_of(args[1]), options, value_of(losses));
  if (!c.ok()) return status_of(c);
  rnn::Walk w{t.walk[0], t.walk[1]};
  rnn::Workspace ws;
  const bool ok = rnn::train(t.model.dims, t.model.params, t.model.grads, t.model.accum,
                             t.model.state, t.corpus, w, t.hyper, t.updates, t.losses, ws);
  t.walk[0] = w.position;
  t.walk[1] = w.epoch;
  if (ok) return 0;
  refusal = checks::kCorpusOutsideVocabulary;
  return 3;  // a RangeError after the walk ran: what it did stands
}

// v = the model and its properties, then inputs.
EXPORT(vanilla_advance) int32_t vanilla_advance(const WasmValue* v) {
  checks::Checks c;
  const checks::Feed f = checks::vanilla_advance(c, vanilla_model(v), value_of(v[kVanillaRecords]));
  if (!c.ok()) return status_of(c);
  rnn::advance(f.model.dims, f.model.params, f.model.state, f.x.data(), f.x.size());
  return 0;
}

// v = the model and its properties, then first, temperature, rng, out.
EXPORT(vanilla_sample) int32_t vanilla_sample(const WasmValue* v) {
  const WasmValue* args = v + kVanillaRecords;
  checks::Checks c;
  const checks::VanillaDraws s =
      checks::vanilla_sample(c, vanilla_model(v), value_of(args[0]), value_of(args[1]),
                             value_of(args[2]), value_of(args[3]));
  if (!c.ok()) return status_of(c);
  const checks::Draws& d = s.draws;
  rnn::sample(s.model.dims, s.model.params, s.model.state, d.first, d.temperature, d.rng, d.out,
              d.length);
  return 0;
}

// parameterLayout(hidden, vocab) as JSON: [{name, shape, init, offset, length}].
EXPORT(vanilla_parameter_layout) int32_t vanilla_parameter_layout(const WasmValue* v, const char** json) {
  checks::Checks c;
  const rnn::Dims d = checks::parameter_layout(c, value_of(v[0]), value_of(v[1]));
  if (!c.ok()) return status_of(c);
  std::string out = "[";
  for (size_t i = 0; i < d.parameters.size(); ++i) {
    const rnn::Parameter& p = d.parameters[i];
    out += std::string(i ? "," : "") + "{\"name\":\"" + p.name + "\",\"shape\":" +
           shape_json(p.cols == 0 ? std::vector<int>{p.rows} : std::vector<int>{p.rows, p.cols}) +
           ",\"init\":\"" + (p.init == rnn::Init::Normal ? "normal" : "zero") +
           "\",\"offset\":" + std::to_string(p.offset) + ",\"length\":" +
           std::to_string(p.length) + "}";
  }
  *json = owned(out + "]");
  return 0;
}

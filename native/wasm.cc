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

// 0 when the call's checks passed, else 1 (TypeError) or 2 (RangeError), with the message kept.
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
  s.shape = {static_cast<rnn::Cell>(kept[0]), kept[1], kept[2], kept[3]};
  s.streams = kept[4];
  s.seq_length = kept[5];
  s.parameters = rnn::parameter_count(s.shape);
  s.state_length = static_cast<size_t>(s.shape.layers) * s.streams * s.shape.hidden;
  return s;
}

checks::Arrays arrays_of(const WasmValue* v) {
  return {value_of(v[0]), value_of(v[1]), value_of(v[2]), value_of(v[3])};
}

// A kernel model for one call (its scratch is freed with it: the module's memory is outside V8's
// heap, so nothing would tell V8 to collect a model that kept it), on the call's copies.
std::unique_ptr<rnn::Model> bound_model(const checks::Spec& s, const checks::Arrays& a) {
  auto model = std::make_unique<rnn::Model>(s.shape, s.streams, s.seq_length);
  model->bind(static_cast<float*>(a.params.data), static_cast<float*>(a.grads.data),
              static_cast<float*>(a.h.data), static_cast<float*>(a.c.data));
  return model;
}

}  // namespace

// ---- the module ----

EXPORT(refusal_message) const char* refusal_message() { return refusal.c_str(); }

// The names of an object argument's properties, in the order a call reads them: 0 a Model's
// spec, 1 optimize's settings.
EXPORT(property_names) const char* property_names(int32_t which) {
  return owned(which == 0 ? names_of(checks::kSpecProperties) : names_of(checks::kSettingsProperties));
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
  rnn::optimize(u.settings, s.parameters, static_cast<float*>(a.params.data),
                    static_cast<const float*>(a.grads.data), u.second, u.first, u.step);
  return 0;
}

// v = the spec's 4 arrays, x, y, losses, reset, dropout, seed, firstUpdate, settings and its
// properties, then second, first.
EXPORT(model_train) int32_t model_train(const int32_t* kept, const WasmValue* v) {
  const checks::Spec s = spec_of(kept);
  const checks::Arrays a = arrays_of(v);
  const auto settings =
      object_of(v + 11, &checks::SettingsValues::settings, checks::kSettingsProperties);
  const WasmValue* args = v + 12 + std::size(checks::kSettingsProperties);
  checks::Checks c;
  const rnn::Updates u = checks::train(c, s, a, value_of(v[4]), value_of(v[5]), value_of(v[6]),
                                       value_of(v[7]), value_of(v[8]), value_of(v[9]),
                                       value_of(v[10]), settings, value_of(args[0]),
                                       value_of(args[1]));
  if (!c.ok()) return status_of(c);
  rnn::train(*bound_model(s, a), u, static_cast<float*>(a.params.data),
             static_cast<float*>(a.grads.data), static_cast<float*>(a.h.data),
             static_cast<float*>(a.c.data), s.state_length);
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

// v = the spec's 4 arrays, then first, temperature, rng, out, topK, topP, minP,
// repetitionPenalty, repetitionWindow, recent.
EXPORT(model_sample) int32_t model_sample(const int32_t* kept, const WasmValue* v) {
  const checks::Spec s = spec_of(kept);
  const checks::Arrays a = arrays_of(v);
  const checks::RuleValues rules{value_of(v[8]),  value_of(v[9]),  value_of(v[10]),
                                 value_of(v[11]), value_of(v[12]), value_of(v[13])};
  checks::Checks c;
  const checks::Draws d = checks::sample(c, s, a, value_of(v[4]), value_of(v[5]), value_of(v[6]),
                                         value_of(v[7]), rules);
  if (!c.ok()) return status_of(c);
  bound_model(s, a)->sample(d.first, d.rules, d.recent, d.recent_length, d.rng, d.out, d.length);
  return 0;
}

// v = the spec's 4 arrays, then input, out.
EXPORT(model_log_probs) int32_t model_log_probs(const int32_t* kept, const WasmValue* v) {
  const checks::Spec s = spec_of(kept);
  const checks::Arrays a = arrays_of(v);
  checks::Checks c;
  const checks::NextSymbol n = checks::log_probs(c, s, a, value_of(v[4]), value_of(v[5]));
  if (!c.ok()) return status_of(c);
  bound_model(s, a)->log_probs(n.input, n.out);
  return 0;
}

// setThreads(threads): checked as the addon checks it; the module runs one thread whatever it is.
EXPORT(model_set_threads) int32_t model_set_threads(const WasmValue* v) {
  checks::Checks c;
  checks::threads(c, value_of(v[0]));
  return status_of(c);
}

// parameterTable(cell, vocab, hidden, layers) as JSON: [{name, shape, offset, length}].
EXPORT(model_layout) int32_t model_layout(const WasmValue* v, const char** json) {
  checks::Checks c;
  const rnn::Shape s =
      checks::shape(c, value_of(v[0]), value_of(v[1]), value_of(v[2]), value_of(v[3]), "");
  if (!c.ok()) return status_of(c);
  std::string out = "[";
  for (const rnn::Parameter& p : rnn::layout(s))
    out += std::string(out.size() > 1 ? "," : "") + "{\"name\":\"" + p.name + "\",\"shape\":" +
           shape_json(p.shape) + ",\"offset\":" + std::to_string(p.offset) +
           ",\"length\":" + std::to_string(p.length) + "}";
  *json = owned(out + "]");
  return 0;
}

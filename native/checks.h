// The arguments of every call into the model, checked once for both bindings: the addon
// (native/addon/) and the WebAssembly module (native/wasm.cc, with lib/engine/wasm.ts). A binding reads
// each JavaScript value into a Value (its type, its number or string, its typed array) and hands
// them here in the order the call reads them; the first refusal, a TypeError or a RangeError with
// its message, is what the binding throws. Nothing here knows Node-API or the module's memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "kernels/model.h"

namespace checks {

// From lib/model-limits.json (CMakeLists.txt and scripts/build-wasm.sh pass them).
constexpr int kMaxHidden = RNN_LIMIT_MAXHIDDEN;
constexpr int kMaxVocab = RNN_LIMIT_MAXVOCABULARY;
constexpr int kMaxSeqLength = RNN_LIMIT_MAXSEQLENGTH;
constexpr size_t kMaxWorkspaceFloats = RNN_LIMIT_MAXWORKSPACEFLOATS;
constexpr size_t kMaxParameters = RNN_LIMIT_MAXPARAMETERS;
constexpr int kMaxLayers = RNN_LIMIT_MAXLAYERS;
constexpr int kMaxStreams = RNN_LIMIT_MAXSTREAMS;
constexpr int kMaxThreads = RNN_LIMIT_MAXTHREADS;  // setThreads, --threads
constexpr int kMaxReps = 10000;  // matmulSeconds

// What a binding saw of a JavaScript value (lib/engine/wasm.ts numbers them alike).
enum class Type : int32_t {
  Other = 0,  // null, a symbol, a bigint, an array, a function
  Undefined = 1,
  Number = 2,
  Boolean = 3,
  String = 4,
  Object = 5,  // any other object (a proxy too)
  Float32Array = 6,
  Float64Array = 7,
  Int32Array = 8,
  Uint32Array = 9,
  Uint8Array = 10,
  Uint16Array = 11,
  OtherTypedArray = 12,
};

struct Value {
  Type type = Type::Undefined;
  double number = 0;     // a Number; a Boolean as 0 or 1
  std::string text;      // a String, as UTF-8
  void* data = nullptr;  // a typed array: its elements, where the kernel will use them
  size_t length = 0;     // a typed array: its elements
  uint64_t address = 0;  // a typed array: where its bytes lie in JavaScript's memory (overlaps)
  bool detached = false;
  uint64_t bytes() const;  // a typed array of a known type: its bytes
};

enum class Error { None, Type, Range };

// The checks of one call, in order: the first refusal is kept, and every later check is skipped
// (returning a default), so that a call reads as the list of its checks.
class Checks {
 public:
  bool ok() const { return error_ == Error::None; }
  Error error() const { return error_; }
  const std::string& message() const { return message_; }
  void refuse(Error error, std::string message);

  double number(const Value& v, const char* name);
  bool boolean(const Value& v, const char* name);
  int integer(const Value& v, const char* name, int lo, int hi);
  float positive_float(const Value& v, const char* name);  // stays a positive, finite, normal float32
  int64_t safe_integer(const Value& v, const char* name, double lo);  // |x| ≤ 2^53 − 1, ≥ lo
  double unit_interval(const Value& v, const char* name);             // in [0, 1)
  void object(const Value& v, const char* name);  // an object, not an array, function or typed array

  // A typed array of one of `types` (named `type_names` in the message), not detached.
  void typed_array(const Value& v, std::initializer_list<Type> types, const char* type_names,
                   const char* name);
  // A typed array of exactly `length` elements.
  void* of_length(const Value& v, Type type, const char* type_name, const char* name, size_t length);
  float* float32(const Value& v, const char* name, size_t length);
  // An Int32Array of symbols, each in [0, K).
  const int32_t* symbols(const Value& v, const char* name, int K);
  // Two typed arrays' bytes must not overlap.
  void apart(const Value& a, const Value& b, const char* a_name, const char* b_name);

 private:
  Error error_ = Error::None;
  std::string message_;
};

// A model's shape: cell, vocab, hidden, layers; `prefix` is "spec." or "" in the messages.
rnn::Shape shape(Checks& c, const Value& cell, const Value& vocab, const Value& hidden,
                     const Value& layers, const std::string& prefix);
// The scratch floats of a model of B streams and T steps, refused above the limit.
size_t scratch(Checks& c, const rnn::Shape& s, int B, int T);

// ---- the model object (new Model(spec) and its methods) ----

// The spec object, then its properties as read (kSpecProperties).
struct SpecValues {
  Value spec, cell, vocab, hidden, layers, streams, seq_length, params, grads, h, c;
};
// The spec's properties in the order both bindings read them.
constexpr std::pair<const char*, Value SpecValues::*> kSpecProperties[] = {
    {"cell", &SpecValues::cell},     {"vocab", &SpecValues::vocab},
    {"hidden", &SpecValues::hidden}, {"layers", &SpecValues::layers},
    {"streams", &SpecValues::streams}, {"seqLength", &SpecValues::seq_length},
    {"params", &SpecValues::params}, {"grads", &SpecValues::grads},
    {"h", &SpecValues::h},           {"c", &SpecValues::c}};

struct Spec {
  rnn::Shape shape;
  int streams = 0, seq_length = 0;
  size_t parameters = 0, state_length = 0, scratch = 0;
};

// The spec's four arrays as they are at a call: a buffer may have been detached or resized since.
struct Arrays {
  Value params, grads, h, c;
};

// new Model(spec): the spec, then its arrays apart from each other.
Spec spec(Checks& c, const SpecValues& v);
// Every call: the spec's arrays still of their lengths.
void arrays(Checks& c, const Spec& s, const Arrays& a);

struct Block {
  const int32_t* x = nullptr;
  const int32_t* y = nullptr;
  int steps = 0;
  bool gradients = false;
  double dropout = 0;
  int64_t seed = 0, update = 0;
};
// forwardBackward(x, y, gradients, dropout, seed, update)
Block forward_backward(Checks& c, const Spec& s, const Arrays& a, const Value& x, const Value& y,
                       const Value& gradients, const Value& dropout, const Value& seed,
                       const Value& update);

// The settings object, then its properties as read (kSettingsProperties).
struct SettingsValues {
  Value settings, kind, eta, epsilon, clip, decay, beta1, beta2;
};
constexpr std::pair<const char*, Value SettingsValues::*> kSettingsProperties[] = {
    {"kind", &SettingsValues::kind},   {"eta", &SettingsValues::eta},
    {"epsilon", &SettingsValues::epsilon}, {"clip", &SettingsValues::clip},
    {"decay", &SettingsValues::decay}, {"beta1", &SettingsValues::beta1},
    {"beta2", &SettingsValues::beta2}};

struct Step {
  rnn::OptimizerSettings settings;
  float* second = nullptr;
  float* first = nullptr;  // empty but for Adam (may hold P floats anyway)
  double step = 0;
};
// optimize(settings, second, first, step)
Step optimize(Checks& c, const Spec& s, const Arrays& a, const SettingsValues& v,
              const Value& second, const Value& first, const Value& step);

// train(x, y, losses, reset, dropout, seed, firstUpdate, settings, second, first): losses.length
// updates, each forwardBackward on the next block of x and y then optimize (rnn::Updates).
rnn::Updates train(Checks& c, const Spec& s, const Arrays& a, const Value& x, const Value& y,
                   const Value& losses, const Value& reset, const Value& dropout, const Value& seed,
                   const Value& first_update, const SettingsValues& settings, const Value& second,
                   const Value& first);

struct Symbols {
  const int32_t* data = nullptr;
  size_t length = 0;
};
// advance(symbols)
Symbols advance(Checks& c, const Spec& s, const Arrays& a, const Value& symbols);

struct NextSymbol {
  int32_t input = 0;
  double* out = nullptr;
};
// logProbs(input, out): out a Float64Array of K.
NextSymbol log_probs(Checks& c, const Spec& s, const Arrays& a, const Value& input, const Value& out);

struct Draws {
  int32_t first = 0;
  rnn::SamplingRules rules;
  const int32_t* recent = nullptr;
  size_t recent_length = 0;
  uint32_t* rng = nullptr;
  int32_t* out = nullptr;
  size_t length = 0;
};
// The rules beyond the temperature, each optional (undefined: off): topK, topP, minP,
// repetitionPenalty, repetitionWindow, recent (the symbols before the draws).
struct RuleValues {
  Value top_k, top_p, min_p, repetition_penalty, repetition_window, recent;
};
// sample(first, temperature, rng, out, topK, topP, minP, repetitionPenalty, repetitionWindow, recent)
Draws sample(Checks& c, const Spec& s, const Arrays& a, const Value& first,
             const Value& temperature, const Value& rng, const Value& out, const RuleValues& rules);

// setThreads(threads)
int threads(Checks& c, const Value& threads);

// ---- module functions ----

// matmulPlan / matmulSeconds: (cell, vocab, hidden, layers, streams, seqLength),
// checked as a spec.
struct Plan {
  rnn::Shape shape;
  int streams = 0, seq_length = 0;
};
Plan plan(Checks& c, const Value& cell, const Value& vocab, const Value& hidden,
          const Value& layers, const Value& streams, const Value& seq_length);

}  // namespace checks

#include "checks.h"

#include <cfloat>
#include <cmath>

namespace checks {

namespace {

constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 − 1

size_t element_size(Type type) {
  switch (type) {
    case Type::Uint8Array:
      return 1;
    case Type::Uint16Array:
      return 2;
    case Type::Float64Array:
      return 8;
    case Type::Float32Array:
    case Type::Int32Array:
    case Type::Uint32Array:
      return 4;
    default:
      return 0;
  }
}

}  // namespace

uint64_t Value::bytes() const { return static_cast<uint64_t>(length) * element_size(type); }

void Checks::refuse(Error error, std::string message) {
  if (!ok()) return;
  error_ = error;
  message_ = std::move(message);
}

double Checks::number(const Value& v, const char* name) {
  if (!ok()) return 0;
  if (v.type != Type::Number) refuse(Error::Type, std::string(name) + " must be a number");
  return v.number;
}

bool Checks::boolean(const Value& v, const char* name) {
  if (ok() && v.type != Type::Boolean) refuse(Error::Type, std::string(name) + " must be a boolean");
  return ok() && v.number != 0;
}

int Checks::integer(const Value& v, const char* name, int lo, int hi) {
  const double x = number(v, name);
  if (!ok()) return 0;
  if (!(x >= lo && x <= hi) || std::floor(x) != x)
    refuse(Error::Range, std::string(name) + " must be an integer from " + std::to_string(lo) + " to " +
                             std::to_string(hi));
  return ok() ? static_cast<int>(x) : 0;
}

float Checks::positive_float(const Value& v, const char* name) {
  const double x = number(v, name);
  if (!ok()) return 0;
  if (!(x >= FLT_MIN && x <= FLT_MAX))
    refuse(Error::Range, std::string(name) + " must be a positive float32 number (1.2e-38 to 3.4e38)");
  return static_cast<float>(x);
}

int64_t Checks::safe_integer(const Value& v, const char* name, double lo) {
  const double x = number(v, name);
  if (!ok()) return 0;
  if (!(x >= lo && std::fabs(x) <= kMaxSafe) || std::floor(x) != x)
    refuse(Error::Range, std::string(name) + " must be a safe integer" +
                             (lo > -kMaxSafe ? " ≥ " + std::to_string(static_cast<int64_t>(lo)) : ""));
  return ok() ? static_cast<int64_t>(x) : 0;
}

double Checks::unit_interval(const Value& v, const char* name) {
  const double x = number(v, name);
  if (ok() && !(x >= 0 && x < 1)) refuse(Error::Range, std::string(name) + " must be a number in [0, 1)");
  return ok() ? x : 0;
}

void Checks::object(const Value& v, const char* name) {
  if (ok() && v.type != Type::Object) refuse(Error::Type, std::string(name) + " must be an object");
}

void Checks::typed_array(const Value& v, std::initializer_list<Type> types, const char* type_names,
                         const char* name) {
  if (!ok()) return;
  bool known = false;
  for (Type t : types) known = known || t == v.type;
  if (!known) return refuse(Error::Type, std::string(name) + " must be " + type_names);
  if (v.detached) refuse(Error::Type, std::string(name) + " is detached");
}

void* Checks::of_length(const Value& v, Type type, const char* type_name, const char* name,
                        size_t length) {
  typed_array(v, {type}, type_name, name);
  if (ok() && v.length != length)
    refuse(Error::Range, std::string(name) + " must have length " + std::to_string(length) +
                             ", got " + std::to_string(v.length));
  return ok() ? v.data : nullptr;
}

float* Checks::float32(const Value& v, const char* name, size_t length) {
  return static_cast<float*>(of_length(v, Type::Float32Array, "a Float32Array", name, length));
}

const int32_t* Checks::symbols(const Value& v, const char* name, int K) {
  typed_array(v, {Type::Int32Array}, "an Int32Array", name);
  if (!ok()) return nullptr;
  const auto* x = static_cast<const int32_t*>(v.data);
  for (size_t i = 0; i < v.length; ++i) {
    if (x[i] >= 0 && x[i] < K) continue;
    refuse(Error::Range, std::string(name) + "[" + std::to_string(i) + "] = " +
                             std::to_string(x[i]) + " is outside the vocabulary [0, " +
                             std::to_string(K) + ")");
    return nullptr;
  }
  return x;
}

// The message is built only when the check fails: these run on every call.
void Checks::apart(const Value& a, const Value& b, const char* a_name, const char* b_name) {
  const uint64_t a_bytes = a.bytes(), b_bytes = b.bytes();
  if (ok() && a_bytes > 0 && b_bytes > 0 && a.address < b.address + b_bytes &&
      b.address < a.address + a_bytes)
    refuse(Error::Range, std::string(a_name) + " and " + b_name + " must not overlap");
}

rnn::Shape shape(Checks& c, const Value& cell, const Value& vocab, const Value& hidden,
                     const Value& layers, const std::string& prefix) {
  rnn::Shape s;
  if (c.ok() && cell.type != Type::String) c.refuse(Error::Type, prefix + "cell must be a string");
  if (cell.text == "lstm") s.cell = rnn::Cell::Lstm;
  else if (cell.text == "gru") s.cell = rnn::Cell::Gru;
  else if (cell.text != "rnn") c.refuse(Error::Range, prefix + "cell must be 'rnn', 'lstm' or 'gru'");
  s.vocab = c.integer(vocab, (prefix + "vocab").c_str(), 1, kMaxVocab);
  s.hidden = c.integer(hidden, (prefix + "hidden").c_str(), 1, kMaxHidden);
  s.layers = c.integer(layers, (prefix + "layers").c_str(), 1, kMaxLayers);
  if (!c.ok()) return s;
  const uint64_t count = rnn::parameter_count(s);  // < 2^50 within the limits above
  if (count > kMaxParameters)
    c.refuse(Error::Range, "the model has " + std::to_string(count) + " parameters; at most " +
                               std::to_string(kMaxParameters));
  return s;
}

size_t scratch(Checks& c, const rnn::Shape& s, int B, int T) {
  if (!c.ok()) return 0;
  const uint64_t floats = rnn::scratch_floats(s, B, T);  // < 2^60 within the limits
  if (floats > kMaxWorkspaceFloats)
    c.refuse(Error::Range, "the model needs " + std::to_string(floats) +
                               " scratch floats (streams × seqLength × layers × hidden …); at most " +
                               std::to_string(kMaxWorkspaceFloats));
  return c.ok() ? static_cast<size_t>(floats) : 0;
}

// ---- the model object ----

namespace {

// Refuses an array the kernel reads while it writes the spec's grads, h or c (or params, when
// `params_written`).
void apart_from_written(Checks& c, const Arrays& a, const Value& v, const char* name,
                        bool params_written) {
  c.apart(v, a.grads, name, "spec.grads");
  c.apart(v, a.h, name, "spec.h");
  c.apart(v, a.c, name, "spec.c");
  if (params_written) c.apart(v, a.params, name, "spec.params");
}

void one_stream(Checks& c, const Spec& s, const char* what) {
  if (c.ok() && s.streams != 1)
    c.refuse(Error::Range, std::string(what) + " needs a model of one stream (this one has " +
                               std::to_string(s.streams) + ")");
}

}  // namespace

Spec spec(Checks& c, const SpecValues& v) {
  Spec s;
  c.object(v.spec, "spec");
  s.shape = shape(c, v.cell, v.vocab, v.hidden, v.layers, "spec.");
  s.streams = c.integer(v.streams, "spec.streams", 1, kMaxStreams);
  s.seq_length = c.integer(v.seq_length, "spec.seqLength", 1, kMaxSeqLength);
  s.scratch = scratch(c, s.shape, s.streams, s.seq_length);
  if (!c.ok()) return s;
  s.parameters = rnn::parameter_count(s.shape);
  s.state_length = static_cast<size_t>(s.shape.layers) * s.streams * s.shape.hidden;
  arrays(c, s, {v.params, v.grads, v.h, v.c});
  c.apart(v.params, v.grads, "spec.params", "spec.grads");
  c.apart(v.params, v.h, "spec.params", "spec.h");
  c.apart(v.params, v.c, "spec.params", "spec.c");
  c.apart(v.grads, v.h, "spec.grads", "spec.h");
  c.apart(v.grads, v.c, "spec.grads", "spec.c");
  c.apart(v.h, v.c, "spec.h", "spec.c");
  return s;
}

void arrays(Checks& c, const Spec& s, const Arrays& a) {
  c.float32(a.params, "spec.params", s.parameters);
  c.float32(a.grads, "spec.grads", s.parameters);
  c.float32(a.h, "spec.h", s.state_length);
  c.float32(a.c, "spec.c", s.state_length);
}

namespace {

// x and y of `blocks` blocks of steps × streams symbols each, read while the call writes the
// spec's grads, h and c (and params, when `params_written`): the steps of one block.
int symbol_blocks(Checks& c, const Spec& s, const Arrays& a, const Value& x, const Value& y,
                  size_t blocks, bool params_written) {
  const int K = s.shape.vocab, B = s.streams;
  c.symbols(x, "x", K);
  c.symbols(y, "y", K);
  if (!c.ok()) return 0;
  // In 64 bits: wasm32's size_t would wrap blocks × streams (up to 2^32 × 2^16) to a small number.
  const uint64_t n = x.length, per_step = static_cast<uint64_t>(blocks) * static_cast<uint64_t>(B);
  if (y.length != n) c.refuse(Error::Range, "y must have the same length as x");
  if (c.ok() && (n == 0 || n % per_step != 0 || n / per_step > static_cast<uint64_t>(s.seq_length)))
    c.refuse(Error::Range, "x must hold " + std::string(blocks > 1 ? "blocks × " : "") +
                               "steps × streams symbols (" +
                               (blocks > 1 ? "blocks = " + std::to_string(blocks) + ", " : "") +
                               "streams = " + std::to_string(B) +
                               ", 1 ≤ steps ≤ seqLength = " + std::to_string(s.seq_length) +
                               "), got " + std::to_string(n));
  apart_from_written(c, a, x, "x", params_written);
  apart_from_written(c, a, y, "y", params_written);
  return c.ok() ? static_cast<int>(n / per_step) : 0;
}

// The optimizer's settings.
Step optimizer_step(Checks& c, const SettingsValues& v) {
  Step u;
  c.object(v.settings, "settings");
  if (c.ok() && v.kind.type != Type::String) c.refuse(Error::Type, "settings.kind must be a string");
  if (v.kind.text == "rmsprop") u.settings.kind = rnn::OptimizerKind::Rmsprop;
  else if (v.kind.text == "adam") u.settings.kind = rnn::OptimizerKind::Adam;
  else if (v.kind.text != "adagrad")
    c.refuse(Error::Range, "settings.kind must be 'adagrad', 'rmsprop' or 'adam'");
  u.settings.eta = c.positive_float(v.eta, "settings.eta");
  u.settings.epsilon = c.positive_float(v.epsilon, "settings.epsilon");
  u.settings.clip = c.positive_float(v.clip, "settings.clip");
  u.settings.decay = c.unit_interval(v.decay, "settings.decay");
  u.settings.beta1 = c.unit_interval(v.beta1, "settings.beta1");
  u.settings.beta2 = c.unit_interval(v.beta2, "settings.beta2");
  return u;
}

// second and first, after the step: written with the spec's params.
void optimizer_state(Checks& c, const Spec& s, const Arrays& a, Step& u, const Value& second,
                     const Value& first) {
  arrays(c, s, a);
  const size_t P = s.parameters;
  u.second = c.float32(second, "second", P);
  const bool adam = u.settings.kind == rnn::OptimizerKind::Adam;
  c.typed_array(first, {Type::Float32Array}, "a Float32Array", "first");
  if (c.ok() && first.length != (adam ? P : 0) && first.length != P)
    c.refuse(Error::Range, "first must have length " + std::to_string(P) + (adam ? "" : " or 0") +
                               ", got " + std::to_string(first.length));
  apart_from_written(c, a, second, "second", true);
  apart_from_written(c, a, first, "first", true);
  c.apart(second, first, "second", "first");
  u.first = c.ok() ? static_cast<float*>(first.data) : nullptr;
}

}  // namespace

Block forward_backward(Checks& c, const Spec& s, const Arrays& a, const Value& x, const Value& y,
                       const Value& gradients, const Value& dropout, const Value& seed,
                       const Value& update) {
  Block b;
  b.gradients = c.boolean(gradients, "gradients");
  b.dropout = c.unit_interval(dropout, "dropout");
  b.seed = c.safe_integer(seed, "seed", -kMaxSafe);
  b.update = c.safe_integer(update, "update", 0);
  arrays(c, s, a);
  b.steps = symbol_blocks(c, s, a, x, y, 1, false);
  b.x = c.ok() ? static_cast<const int32_t*>(x.data) : nullptr;
  b.y = c.ok() ? static_cast<const int32_t*>(y.data) : nullptr;
  return b;
}

Step optimize(Checks& c, const Spec& s, const Arrays& a, const SettingsValues& v,
              const Value& second, const Value& first, const Value& step) {
  Step u = optimizer_step(c, v);
  u.step = static_cast<double>(c.safe_integer(step, "step", 1));
  optimizer_state(c, s, a, u, second, first);
  return u;
}

rnn::Updates train(Checks& c, const Spec& s, const Arrays& a, const Value& x, const Value& y,
                   const Value& losses, const Value& reset, const Value& dropout, const Value& seed,
                   const Value& first_update, const SettingsValues& settings, const Value& second,
                   const Value& first) {
  rnn::Updates u;
  c.typed_array(losses, {Type::Float64Array}, "a Float64Array", "losses");
  if (c.ok() && losses.length == 0) c.refuse(Error::Range, "losses must not be empty (one per update)");
  u.count = c.ok() ? losses.length : 0;
  u.reset = c.boolean(reset, "reset");
  u.dropout = c.unit_interval(dropout, "dropout");
  u.seed = c.safe_integer(seed, "seed", -kMaxSafe);
  u.first_update = c.safe_integer(first_update, "firstUpdate", 1);
  if (c.ok() && static_cast<double>(u.first_update) + static_cast<double>(u.count - 1) > kMaxSafe)
    c.refuse(Error::Range, "firstUpdate + losses.length − 1 must be a safe integer");
  Step step = optimizer_step(c, settings);
  optimizer_state(c, s, a, step, second, first);
  u.settings = step.settings;
  u.second = step.second;
  u.first = step.first;
  u.steps = symbol_blocks(c, s, a, x, y, u.count, true);
  apart_from_written(c, a, losses, "losses", true);
  for (const auto& [read, name] : {std::pair{&x, "x"}, {&y, "y"}, {&second, "second"}, {&first, "first"}})
    c.apart(*read, losses, name, "losses");
  c.apart(x, second, "x", "second");
  c.apart(x, first, "x", "first");
  c.apart(y, second, "y", "second");
  c.apart(y, first, "y", "first");
  if (!c.ok()) return rnn::Updates{};
  u.x = static_cast<const int32_t*>(x.data);
  u.y = static_cast<const int32_t*>(y.data);
  u.losses = static_cast<double*>(losses.data);
  return u;
}

Symbols advance(Checks& c, const Spec& s, const Arrays& a, const Value& symbols) {
  one_stream(c, s, "advance");
  arrays(c, s, a);
  Symbols out{c.symbols(symbols, "symbols", s.shape.vocab), symbols.length};
  apart_from_written(c, a, symbols, "symbols", false);
  return out;
}

namespace {

// A number in (lo, hi] (`range` says it in words), or `fallback` when undefined.
double optional_number(Checks& c, const Value& v, const char* name, double lo, double hi,
                       const char* range, double fallback) {
  if (v.type == Type::Undefined) return fallback;
  const double x = c.number(v, name);
  if (c.ok() && !(x > lo && x <= hi)) c.refuse(Error::Range, std::string(name) + " must be " + range);
  return c.ok() ? x : fallback;
}

rnn::SamplingRules sampling_rules(Checks& c, const Value& temperature, const RuleValues& v) {
  rnn::SamplingRules r;
  r.temperature = c.number(temperature, "temperature");
  if (c.ok() && !(r.temperature >= 0 && std::isfinite(r.temperature)))
    c.refuse(Error::Range, "temperature must be a finite number ≥ 0");
  r.top_k = v.top_k.type == Type::Undefined ? 0 : c.integer(v.top_k, "topK", 0, kMaxVocab);
  r.top_p = optional_number(c, v.top_p, "topP", 0, 1, "a number > 0 and ≤ 1", 1);
  r.min_p = v.min_p.type == Type::Undefined ? 0 : c.unit_interval(v.min_p, "minP");
  r.repetition_penalty = optional_number(c, v.repetition_penalty, "repetitionPenalty", 0, 1000, "a number > 0 and ≤ 1000", 1);
  r.repetition_window = v.repetition_window.type == Type::Undefined ? 0 : c.integer(v.repetition_window, "repetitionWindow", 0, 1 << 20);
  return r;
}

}  // namespace

Draws sample(Checks& c, const Spec& s, const Arrays& a, const Value& first,
             const Value& temperature, const Value& rng, const Value& out, const RuleValues& rules) {
  Draws d;
  one_stream(c, s, "sample");
  d.first = c.integer(first, "first", 0, s.shape.vocab - 1);
  d.rules = sampling_rules(c, temperature, rules);
  if (rules.recent.type != Type::Undefined) {
    d.recent = c.symbols(rules.recent, "recent", s.shape.vocab);
    d.recent_length = c.ok() ? rules.recent.length : 0;
    apart_from_written(c, a, rules.recent, "recent", true);
    c.apart(rules.recent, out, "recent", "out");
    c.apart(rules.recent, rng, "recent", "rng");
  }
  arrays(c, s, a);
  d.rng = static_cast<uint32_t*>(c.of_length(rng, Type::Uint32Array, "a Uint32Array", "rng", 4));
  c.typed_array(out, {Type::Int32Array}, "an Int32Array", "out");
  if (c.ok() && (d.rng[0] | d.rng[1] | d.rng[2] | d.rng[3]) == 0)
    c.refuse(Error::Range, "rng state must not be all zero");
  apart_from_written(c, a, rng, "rng", true);
  apart_from_written(c, a, out, "out", true);
  c.apart(rng, out, "rng", "out");
  d.out = static_cast<int32_t*>(out.data);
  d.length = out.length;
  return d;
}

NextSymbol log_probs(Checks& c, const Spec& s, const Arrays& a, const Value& input, const Value& out) {
  NextSymbol n;
  one_stream(c, s, "logProbs");
  n.input = c.integer(input, "input", 0, s.shape.vocab - 1);
  arrays(c, s, a);
  n.out = static_cast<double*>(c.of_length(out, Type::Float64Array, "a Float64Array", "out", s.shape.vocab));
  apart_from_written(c, a, out, "out", true);
  return n;
}

int threads(Checks& c, const Value& threads) { return c.integer(threads, "threads", 1, kMaxThreads); }

Plan plan(Checks& c, const Value& cell, const Value& vocab, const Value& hidden,
          const Value& layers, const Value& streams, const Value& seq_length) {
  Plan p;
  p.shape = shape(c, cell, vocab, hidden, layers, "");
  p.streams = c.integer(streams, "streams", 1, kMaxStreams);
  p.seq_length = c.integer(seq_length, "seqLength", 1, kMaxSeqLength);
  scratch(c, p.shape, p.streams, p.seq_length);
  return p;
}

}  // namespace checks

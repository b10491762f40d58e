// The DD2424 model's own kernels (native/kernels/rnn.h) as module functions: lossAndGradients,
// train, advance, sample and parameterLayout, over a model object {hidden, vocab, params, state,
// grads?, accum?} (lib/engine/native.ts). They go once lib/ trains that model through Model alone.
#include <iterator>
#include <string>
#include <vector>

#include "binding.h"

namespace binding {

namespace {

using ModelRead = ObjectRead<checks::VanillaValues, std::size(checks::kVanillaProperties)>;

ModelRead read_model(Napi::Value model) {
  return ModelRead(model, &checks::VanillaValues::model, checks::kVanillaProperties);
}

// lossAndGradients(model, inputs: Int32Array, targets: Int32Array): number
Napi::Value LossAndGradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelRead model = read_model(info[0]);
  checks::Checks c;
  const checks::Sequence s =
      checks::loss_and_gradients(c, model.values(), value_of(info[1]), value_of(info[2]));
  throw_if_refused(env, c);
  const double loss = guarded(env, [&] {
    rnn::Workspace ws;
    return rnn::loss_and_gradients(s.model.dims, s.model.params, s.model.grads, s.model.state,
                                   s.x.data(), s.y.data(), static_cast<int>(s.x.size()), ws);
  });
  return Napi::Number::New(env, loss);
}

// train(model, corpus: Uint8Array | Uint16Array, walk: Float64Array [position, epoch],
//       options: {seqLength, eta, epsilon, clip}, losses: Float64Array): undefined
// Runs losses.length updates.
Napi::Value Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelRead model = read_model(info[0]);
  const ObjectRead options(info[3], &checks::HyperValues::options, checks::kHyperProperties);
  checks::Checks c;
  const checks::Training t = checks::train(c, model.values(), value_of(info[1]), value_of(info[2]),
                                           options.values(), value_of(info[4]));
  throw_if_refused(env, c);
  rnn::Walk w{t.walk[0], t.walk[1]};
  const bool ok = guarded(env, [&] {
    rnn::Workspace ws;
    return rnn::train(t.model.dims, t.model.params, t.model.grads, t.model.accum, t.model.state,
                      t.corpus, w, t.hyper, t.updates, t.losses, ws);
  });
  t.walk[0] = w.position;
  t.walk[1] = w.epoch;
  if (!ok) throw Napi::RangeError::New(env, checks::kCorpusOutsideVocabulary);
  return env.Undefined();
}

// advance(model, inputs: Int32Array): undefined — feeds the symbols, updating model.state.
Napi::Value Advance(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelRead model = read_model(info[0]);
  checks::Checks c;
  const checks::Feed f = checks::vanilla_advance(c, model.values(), value_of(info[1]));
  throw_if_refused(env, c);
  guarded(env, [&] { rnn::advance(f.model.dims, f.model.params, f.model.state, f.x.data(), f.x.size()); });
  return env.Undefined();
}

// sample(model, first: number, temperature: number, rng: Uint32Array(4), out: Int32Array)
// Fills out with drawn symbols, updating model.state and the generator state.
Napi::Value Sample(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelRead model = read_model(info[0]);
  checks::Checks c;
  const checks::VanillaDraws v = checks::vanilla_sample(c, model.values(), value_of(info[1]), value_of(info[2]),
                                                        value_of(info[3]), value_of(info[4]));
  throw_if_refused(env, c);
  const checks::Draws& d = v.draws;
  guarded(env, [&] {
    rnn::sample(v.model.dims, v.model.params, v.model.state, d.first, d.temperature, d.rng, d.out,
                d.length);
  });
  return env.Undefined();
}

// parameterLayout(hidden, vocab): [{name, shape, init, offset, length}] as the kernel computes it.
Napi::Value ParameterLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checks::Checks c;
  const rnn::Dims d = checks::parameter_layout(c, value_of(info[0]), value_of(info[1]));
  throw_if_refused(env, c);
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

}  // namespace

void export_vanilla(Napi::Env env, Napi::Object exports) {
  exports.Set("lossAndGradients", Napi::Function::New(env, LossAndGradients, "lossAndGradients"));
  exports.Set("train", Napi::Function::New(env, Train, "train"));
  exports.Set("advance", Napi::Function::New(env, Advance, "advance"));
  exports.Set("sample", Napi::Function::New(env, Sample, "sample"));
  exports.Set("parameterLayout", Napi::Function::New(env, ParameterLayout, "parameterLayout"));
}

}  // namespace binding

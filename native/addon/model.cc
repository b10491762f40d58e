// The Model object: new Model(spec) and its methods (lib/engine/native.ts declares them), over the
// kernels of native/kernels/model.h; and parameterTable, its parameter table.
#include <cblas.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "binding.h"

namespace binding {

namespace {

// Symbols as the kernel reads them: a copy of the typed array, so that another thread writing a
// SharedArrayBuffer during the call cannot change a symbol after it was checked.
checks::Value symbols_copy(Napi::Value v, std::vector<int32_t>& store) {
  checks::Value value = value_of(v);
  if (value.type == checks::Type::Int32Array && !value.detached && value.data != nullptr) {
    const auto* from = static_cast<const int32_t*>(value.data);
    store.assign(from, from + value.length);
    value.data = store.data();
  }
  return value;
}

// new Model(spec): the spec is checked once, here; the typed arrays are kept alive by references,
// and each call takes their pointers again (and checks their lengths, so that a detached or
// resized buffer is refused rather than used).
class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Model",
                       {InstanceMethod("forwardBackward", &Model::ForwardBackward),
                        InstanceMethod("optimize", &Model::Optimize),
                        InstanceMethod("train", &Model::Train),
                        InstanceMethod("advance", &Model::Advance),
                        InstanceMethod("sample", &Model::Sample),
                        InstanceMethod("logProbs", &Model::LogProbs),
                        InstanceMethod("setThreads", &Model::SetThreads)});
  }

  explicit Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
    Napi::Env env = info.Env();
    const ObjectRead spec(info[0], &checks::SpecValues::spec, checks::kSpecProperties);
    checks::Checks c;
    spec_ = checks::spec(c, spec.values());
    throw_if_refused(env, c);
    const auto keep = [&](checks::Value checks::SpecValues::*array) {
      return Napi::Persistent(spec.property(array).As<Napi::Object>());
    };
    params_ = keep(&checks::SpecValues::params);
    grads_ = keep(&checks::SpecValues::grads);
    h_ = keep(&checks::SpecValues::h);
    c_ = keep(&checks::SpecValues::c);
    model_ = guarded(env, [&] {
      return std::make_unique<rnn::SplitModel>(spec_.shape, spec_.streams, spec_.seq_length, 1);
    });
    report_scratch(env, spec_.scratch);
  }

  ~Model() override {
    int64_t total;
    if (external_bytes_ > 0) napi_adjust_external_memory(Env(), -external_bytes_, &total);
  }

 private:
  // The scratch is outside V8's heap: without telling V8, it would see no reason to collect a
  // dropped model, and each one would hold its scratch (up to 1 GiB) for ever.
  void report_scratch(Napi::Env env, size_t floats) {
    const int64_t bytes = static_cast<int64_t>(floats * sizeof(float));
    int64_t total;
    napi_adjust_external_memory(env, bytes - external_bytes_, &total);
    external_bytes_ = bytes;
  }

  // The spec's arrays as they are now.
  checks::Arrays arrays() const {
    return {value_of(params_.Value()), value_of(grads_.Value()), value_of(h_.Value()),
            value_of(c_.Value())};
  }

  // The checked arrays' pointers, handed to the kernel.
  void bind(const checks::Arrays& a) {
    model_->bind(static_cast<float*>(a.params.data), static_cast<float*>(a.grads.data),
                 static_cast<float*>(a.h.data), static_cast<float*>(a.c.data));
  }

  // With fewer streams than threads (one), the threads go to OpenBLAS, whose count is global:
  // this model's for its multiplies, then back to the one thread everything else runs on.
  template <typename Work>
  auto with_blas_threads(Work work) {
    const bool blas_threads = threads_ > 1 && model_->parts() == 1;
    if (blas_threads) openblas_set_num_threads(threads_);
    const auto result = work();
    if (blas_threads) openblas_set_num_threads(1);
    return result;
  }

  // forwardBackward(x, y, gradients, dropout, seed, update): number
  Napi::Value ForwardBackward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const checks::Arrays a = arrays();
    std::vector<int32_t> x, y;
    checks::Checks c;
    const checks::Block b =
        checks::forward_backward(c, spec_, a, symbols_copy(info[0], x), symbols_copy(info[1], y),
                                 value_of(info[2]), value_of(info[3]), value_of(info[4]),
                                 value_of(info[5]));
    throw_if_refused(env, c);
    bind(a);
    const double loss = with_blas_threads([&] {
      return model_->forward_backward(b.x, b.y, b.steps, b.gradients, b.dropout, b.seed, b.update);
    });
    return Napi::Number::New(env, loss);
  }

  // train(x, y, losses, reset, dropout, seed, firstUpdate, settings, second, first): undefined.
  // The settings' getters run first, before any typed array is looked at (as in optimize).
  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ObjectRead settings(info[7], &checks::SettingsValues::settings, checks::kSettingsProperties);
    const checks::Arrays a = arrays();
    std::vector<int32_t> x, y;
    checks::Checks c;
    const rnn::Updates u = checks::train(
        c, spec_, a, symbols_copy(info[0], x), symbols_copy(info[1], y), value_of(info[2]),
        value_of(info[3]),
        value_of(info[4]), value_of(info[5]), value_of(info[6]), settings.values(),
        value_of(info[8]), value_of(info[9]));
    throw_if_refused(env, c);
    bind(a);
    with_blas_threads([&] {
      rnn::train(*model_, u, static_cast<float*>(a.params.data), static_cast<float*>(a.grads.data),
                 static_cast<float*>(a.h.data), static_cast<float*>(a.c.data), spec_.state_length);
      return 0;
    });
    return env.Undefined();
  }

  // setThreads(n), 1 to kMaxThreads: forwardBackward's streams split into min(n, streams) groups,
  // one thread each (rnn::SplitModel); a model of one stream gives OpenBLAS the n threads.
  Napi::Value SetThreads(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    checks::Checks c;
    const int threads = checks::threads(c, value_of(info[0]));
    throw_if_refused(env, c);
    const int parts = std::min(threads, spec_.streams);
    if (parts != model_->parts()) {
      const size_t scratch = rnn::SplitModel::scratch_floats(spec_.shape, spec_.streams,
                                                                 spec_.seq_length, parts);
      if (scratch > checks::kMaxWorkspaceFloats)
        throw Napi::RangeError::New(
            env, std::to_string(threads) + " threads need " + std::to_string(scratch) +
                     " scratch floats (a model's gradients per thread); at most " +
                     std::to_string(checks::kMaxWorkspaceFloats));
      // Made before the old one goes: a failed allocation leaves the model as it was.
      model_ = guarded(env, [&] {
        return std::make_unique<rnn::SplitModel>(spec_.shape, spec_.streams, spec_.seq_length,
                                                     parts);
      });
      report_scratch(env, scratch);
    }
    threads_ = threads;
    return env.Undefined();
  }

  // optimize(settings, second, first, step): undefined
  Napi::Value Optimize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ObjectRead settings(info[0], &checks::SettingsValues::settings, checks::kSettingsProperties);
    const checks::Arrays a = arrays();
    checks::Checks c;
    const checks::Step s = checks::optimize(c, spec_, a, settings.values(), value_of(info[1]),
                                            value_of(info[2]), value_of(info[3]));
    throw_if_refused(env, c);
    rnn::optimize(s.settings, spec_.parameters, static_cast<float*>(a.params.data),
                      static_cast<const float*>(a.grads.data), s.second, s.first, s.step);
    return env.Undefined();
  }

  // advance(symbols): undefined
  Napi::Value Advance(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const checks::Arrays a = arrays();
    checks::Checks c;
    std::vector<int32_t> symbols;
    const checks::Symbols x = checks::advance(c, spec_, a, symbols_copy(info[0], symbols));
    throw_if_refused(env, c);
    bind(a);
    model_->single().advance(x.data, x.length);
    return env.Undefined();
  }

  // sample(first, temperature, rng, out, topK, topP, minP, repetitionPenalty, repetitionWindow,
  // recent): undefined
  Napi::Value Sample(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const checks::Arrays a = arrays();
    std::vector<int32_t> recent;
    const checks::RuleValues rules{value_of(info[4]), value_of(info[5]), value_of(info[6]),
                                   value_of(info[7]), value_of(info[8]), symbols_copy(info[9], recent)};
    checks::Checks c;
    const checks::Draws d = checks::sample(c, spec_, a, value_of(info[0]), value_of(info[1]),
                                           value_of(info[2]), value_of(info[3]), rules);
    throw_if_refused(env, c);
    bind(a);
    model_->single().sample(d.first, d.rules, d.recent, d.recent_length, d.rng, d.out, d.length);
    return env.Undefined();
  }

  // logProbs(input, out): undefined
  Napi::Value LogProbs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const checks::Arrays a = arrays();
    checks::Checks c;
    const checks::NextSymbol n = checks::log_probs(c, spec_, a, value_of(info[0]), value_of(info[1]));
    throw_if_refused(env, c);
    bind(a);
    model_->single().log_probs(n.input, n.out);
    return env.Undefined();
  }

  checks::Spec spec_;
  std::unique_ptr<rnn::SplitModel> model_;
  Napi::ObjectReference params_, grads_, h_, c_;
  int threads_ = 1;
  int64_t external_bytes_ = 0;  // reported to V8 (napi_adjust_external_memory) while the model lives
};

// parameterTable(cell, vocab, hidden, layers): [{name, shape, offset, length}] as the kernel has it.
Napi::Value ParameterTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checks::Checks c;
  const rnn::Shape s = checks::shape(c, value_of(info[0]), value_of(info[1]),
                                         value_of(info[2]), value_of(info[3]), "");
  throw_if_refused(env, c);
  const std::vector<rnn::Parameter> table = rnn::layout(s);
  Napi::Array entries = Napi::Array::New(env, table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    const rnn::Parameter& p = table[i];
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

}  // namespace

void export_model(Napi::Env env, Napi::Object exports) {
  exports.Set("Model", Model::Define(env));
  exports.Set("parameterTable", Napi::Function::New(env, ParameterTable, "parameterTable"));
}

}  // namespace binding

// The Node-API module rnn_native: each binding file's exports (model.cc, bench.cc),
// and two of its own, the BLAS build and the limits it was compiled with. Every export checks its
// arguments (native/checks.h) and throws a JS TypeError or RangeError; lib/engine/native.ts declares them.
#include <cblas.h>

#include "binding.h"

namespace binding {
namespace {

// blasInfo(): string — the BLAS build in use, for benchmarks and bug reports.
Napi::Value BlasInfo(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), openblas_get_config());
}

// limits(): lib/model-limits.json as the addon was compiled with it.
Napi::Value Limits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("maxHidden", checks::kMaxHidden);
  limits.Set("maxVocabulary", checks::kMaxVocab);
  limits.Set("maxSeqLength", checks::kMaxSeqLength);
  limits.Set("maxWorkspaceFloats", static_cast<double>(checks::kMaxWorkspaceFloats));
  limits.Set("maxParameters", static_cast<double>(checks::kMaxParameters));
  limits.Set("maxLayers", checks::kMaxLayers);
  limits.Set("maxStreams", checks::kMaxStreams);
  limits.Set("maxThreads", checks::kMaxThreads);
  return limits;
}

}  // namespace
}  // namespace binding

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // One BLAS thread: at these sizes threads only cost, and results stay reproducible.
  openblas_set_num_threads(1);
  exports.Set("blasInfo", Napi::Function::New(env, binding::BlasInfo, "blasInfo"));
  exports.Set("limits", Napi::Function::New(env, binding::Limits, "limits"));
  binding::export_model(env, exports);
  binding::export_bench(env, exports);
  return exports;
}

NODE_API_MODULE(rnn_native, Init)

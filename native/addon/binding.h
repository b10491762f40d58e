// The Node-API side of native/checks.h, shared by the addon's binding files: JavaScript values
// read into checks::Value, a refusal thrown as the TypeError or RangeError it names, and an
// allocation failure as Error "rnn-native: out of memory"; nothing here aborts the process.
//
// Every call works in two phases. First it reads every object property it needs: a property read
// can run JavaScript (a getter, a proxy) that detaches or resizes a buffer. Only then does it take
// its values (value_of: the typed arrays' pointers and lengths), and no JavaScript runs from there
// to the end of the call. The typed arrays are used in place (zero-copy).
#pragma once

#include <napi.h>

#include <array>
#include <cstddef>
#include <new>
#include <utility>

#include "../checks.h"

namespace binding {

// What the checks see of v. Runs no JavaScript: take it only after every read of the call.
checks::Value value_of(Napi::Value v);

// Throws the call's refusal, if it has one.
void throw_if_refused(Napi::Env env, const checks::Checks& c);

// Runs a kernel, turning an allocation failure into a JS error instead of std::terminate.
template <typename F>
auto guarded(Napi::Env env, F kernel) {
  try {
    return kernel();
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "rnn-native: out of memory");
  }
}

// An object argument, its properties read in the order `properties` lists them (phase 1; none when
// it is no object: the checks refuse it first). values() takes their values (phase 2), once every
// object of the call has been read.
template <typename Values, size_t N>
class ObjectRead {
 public:
  using Properties = std::pair<const char*, checks::Value Values::*>[N];

  ObjectRead(Napi::Value object, checks::Value Values::*self, const Properties& properties)
      : object_(object), self_(self), properties_(properties) {
    if (!object.IsObject() || object.IsFunction() || object.IsArray() || object.IsTypedArray()) return;
    for (size_t i = 0; i < N; ++i) read_[i] = object.As<Napi::Object>().Get(properties[i].first);
  }

  Values values() const {
    Values values;
    values.*self_ = value_of(object_);
    for (size_t i = 0; i < N; ++i) values.*(properties_[i].second) = value_of(read_[i]);
    return values;
  }

  // A property as it was read.
  Napi::Value property(checks::Value Values::*member) const {
    size_t i = 0;
    while (properties_[i].second != member) ++i;
    return read_[i];
  }

 private:
  Napi::Value object_;
  checks::Value Values::*self_;
  const Properties& properties_;
  std::array<Napi::Value, N> read_;
};

// The exports of each binding file, added to the module's exports by native/addon/addon.cc.
void export_model(Napi::Env env, Napi::Object exports);    // model.cc: Model, parameterTable
void export_bench(Napi::Env env, Napi::Object exports);    // bench.cc: matmulPlan, …Seconds

}  // namespace binding

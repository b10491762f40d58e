#include "binding.h"

#include <cstdint>

namespace binding {

namespace {

checks::Type typed_array_type(napi_typedarray_type type) {
  switch (type) {
    case napi_float32_array:
      return checks::Type::Float32Array;
    case napi_float64_array:
      return checks::Type::Float64Array;
    case napi_int32_array:
      return checks::Type::Int32Array;
    case napi_uint32_array:
      return checks::Type::Uint32Array;
    case napi_uint8_array:
      return checks::Type::Uint8Array;
    case napi_uint16_array:
      return checks::Type::Uint16Array;
    default:
      return checks::Type::OtherTypedArray;
  }
}

void read_typed_array(Napi::Value v, checks::Value& out) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  NAPI_THROW_IF_FAILED_VOID(v.Env(), napi_get_typedarray_info(v.Env(), v, &type, &out.length,
                                                              &out.data, &buffer, &offset));
  out.type = typed_array_type(type);
  out.address = reinterpret_cast<uintptr_t>(out.data);
  out.detached = out.data == nullptr && out.length > 0;
}

}  // namespace

checks::Value value_of(Napi::Value v) {
  checks::Value out;
  if (v.IsEmpty()) return out;
  switch (v.Type()) {
    case napi_undefined:
      out.type = checks::Type::Undefined;
      break;
    case napi_boolean:
      out.type = checks::Type::Boolean;
      out.number = v.As<Napi::Boolean>().Value() ? 1 : 0;
      break;
    case napi_number:
      out.type = checks::Type::Number;
      out.number = v.As<Napi::Number>().DoubleValue();
      break;
    case napi_string:
      out.type = checks::Type::String;
      out.text = v.As<Napi::String>().Utf8Value();
      break;
    case napi_object:
      if (v.IsTypedArray()) read_typed_array(v, out);
      else out.type = v.IsArray() ? checks::Type::Other : checks::Type::Object;
      break;
    default:  // null, a symbol, a function, an external, a bigint
      out.type = checks::Type::Other;
      break;
  }
  return out;
}

void throw_if_refused(Napi::Env env, const checks::Checks& c) {
  switch (c.error()) {
    case checks::Error::None:
      return;
    case checks::Error::Type:
      throw Napi::TypeError::New(env, c.message());
    case checks::Error::Range:
      throw Napi::RangeError::New(env, c.message());
  }
}

}  // namespace binding

#pragma once
// One field of a model's JSON configuration (a recipe's model: section, a checkpoint's or a Hugging Face
// folder's config.json), read as exactly its type. nlohmann converts any number to any arithmetic type:
// 2.5 would become 2, true 1, and 1e300 cast to an integer is undefined behaviour. So integers must be
// JSON integers within int64, real numbers finite JSON numbers, flags booleans and text strings; anything
// else is BadInput "<what> has the wrong type: expected <type>, found <value>". No LibTorch.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "core/errors.h"

namespace sparrow::models {

// A value as errors show it: its JSON text, cut to 80 characters.
inline std::string shown(const nlohmann::json& v) {
  const std::string text = v.dump();
  return text.size() <= 80 ? text : text.substr(0, 77) + "...";
}

template <typename T>
T read_field(const nlohmann::json& v, const std::string& what) {
  const auto wrong_type = [&](const char* expected) {
    return BadInput(what + " has the wrong type: expected " + expected + ", found " + shown(v));
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) throw wrong_type("true or false");
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t{INT64_MAX}))
      throw wrong_type("an integer");
  } else if constexpr (std::is_same_v<T, double>) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) throw wrong_type("a finite number");
  } else {
    static_assert(std::is_same_v<T, std::string>, "read_field reads int64_t, double, bool or std::string");
    if (!v.is_string()) throw wrong_type("a string");
  }
  return v.get<T>();
}

// The field `key` of the object `j` as read_field reads it (named "<context>: <key>" in errors); `fallback`
// when it is absent or null.
template <typename T>
T read_field_or(const nlohmann::json& j, const char* key, T fallback, const std::string& context) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  return read_field<T>(j.at(key), context + ": " + key);
}

}  // namespace sparrow::models

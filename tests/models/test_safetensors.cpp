// The strict safetensors reader: a round trip, and every kind of broken file
// is a BadInput that names what is wrong.
#include <catch2/catch.hpp>

#include <cstring>

#include "core/errors.h"
#include "models/safetensors.h"

using namespace sparrow;
using namespace sparrow::models;

namespace {

std::string with_header(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  return out + json + data;
}

}  // namespace

TEST_CASE("safetensors round trip keeps names, dtypes, shapes, bytes and metadata", "[safetensors]") {
  const float a[6] = {1, -2, 3.5f, 0, 1e-8f, -7};
  const int8_t b[3] = {-128, 0, 127};
  const std::vector<SafeTensorView> tensors = {
      {"layer.weight", SafeDType::F32, {2, 3}, std::string_view(reinterpret_cast<const char*>(a), sizeof a)},
      {"q", SafeDType::I8, {3}, std::string_view(reinterpret_cast<const char*>(b), sizeof b)},
      {"empty", SafeDType::F16, {0, 4}, std::string_view()},
  };
  const std::string bytes = serialize_safetensors(tensors, {{"format", "pt"}});
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  CHECK(header_len % 8 == 0);
  const auto file = parse_safetensors(bytes, "mem");
  CHECK(file.metadata.at("format") == "pt");
  REQUIRE(file.tensors.size() == 3);
  for (const auto& t : tensors) {
    const auto* r = file.find(t.name);
    REQUIRE(r);
    CHECK(r->dtype == t.dtype);
    CHECK(r->shape == t.shape);
    CHECK(r->bytes == t.bytes);
  }
  CHECK(file.find("missing") == nullptr);
}

TEST_CASE("safetensors: truncated files are refused at every length", "[safetensors]") {
  const float a[4] = {1, 2, 3, 4};
  const std::string bytes = serialize_safetensors(
      {{"w", SafeDType::F32, {4}, std::string_view(reinterpret_cast<const char*>(a), sizeof a)}}, {});
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("truncated to " << n << " of " << bytes.size() << " bytes");
    CHECK_THROWS_AS(parse_safetensors(bytes.substr(0, n), "t.safetensors"), BadInput);
  }
  CHECK_NOTHROW(parse_safetensors(bytes, "t.safetensors"));
  CHECK_THROWS_WITH(parse_safetensors(bytes.substr(0, bytes.size() - 1), "t.safetensors"),
                    Catch::Contains("t.safetensors") && Catch::Contains("'w'"));
}

TEST_CASE("safetensors: corrupt headers name the problem", "[safetensors]") {
  const std::string data8(8, '\0');
  CHECK_THROWS_WITH(parse_safetensors("abc", "f"), Catch::Contains("too short"));
  std::string huge(8, '\xff');
  CHECK_THROWS_WITH(parse_safetensors(huge + "{}", "f"), Catch::Contains("header length"));
  CHECK_THROWS_WITH(parse_safetensors(with_header("{not json", ""), "f"), Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(parse_safetensors(with_header("[1,2]", ""), "f"), Catch::Contains("JSON object"));
  CHECK_THROWS_WITH(
      parse_safetensors(with_header(R"({"x":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", data8), "f"),
      Catch::Contains("'x'") && Catch::Contains("dtype"));
  CHECK_THROWS_WITH(
      parse_safetensors(with_header(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8), "f"),
      Catch::Contains("'x'") && Catch::Contains("8 bytes"));
  CHECK_THROWS_WITH(
      parse_safetensors(with_header(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8), "f"),
      Catch::Contains("non-negative"));
  CHECK_THROWS_WITH(parse_safetensors(with_header(R"({"x":{"dtype":"F32","shape":[2]}})", data8), "f"),
                    Catch::Contains("data_offsets"));
  CHECK_THROWS_WITH(
      parse_safetensors(with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                    R"("y":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                    data8),
                        "f"),
      Catch::Contains("overlaps"));
  CHECK_THROWS_WITH(
      parse_safetensors(with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data8), "f"),
      Catch::Contains("gap") && Catch::Contains("'x'"));
  CHECK_THROWS_WITH(
      parse_safetensors(with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data8), "f"),
      Catch::Contains("after the last tensor"));
  CHECK_THROWS_WITH(
      parse_safetensors(with_header(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", data8), "f"),
      Catch::Contains("run past"));
  CHECK_THROWS_WITH(
      parse_safetensors(with_header(R"({"__metadata__":{"a":1}})", ""), "f"), Catch::Contains("__metadata__"));
}

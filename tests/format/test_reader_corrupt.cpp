// Corrupt files: each handcrafted corruption must be caught by its own check (FormatErrc), and no
// truncation, flipped byte or bogus field may crash the reader or slip through.
#include <catch2/catch.hpp>

#include <optional>
#include <random>

#include "format/reader.h"
#include "format/sample_file.h"

using namespace sparrow;
using namespace sparrow::format;

// Failed checks print the error code's name.
namespace Catch {
template <>
struct StringMaker<FormatErrc> {
  static std::string convert(FormatErrc e) { return errc_name(e); }
};
template <>
struct StringMaker<std::optional<FormatErrc>> {
  static std::string convert(const std::optional<FormatErrc>& e) { return e ? errc_name(*e) : "accepted"; }
};
}  // namespace Catch

namespace {

// The check that rejected `bytes`, or nothing when the file was accepted.
std::optional<FormatErrc> rejection(const std::string& bytes) {
  try {
    File::parse(bytes, "corrupt.sparrow");
  } catch (const FormatError& e) {
    CHECK(std::string(e.what()).rfind("corrupt.sparrow: ", 0) == 0);
    return e.code();
  }
  return std::nullopt;
}

void set_u32(std::string& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
}
void set_u64(std::string& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
}
std::uint64_t get_u64(const std::string& b, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(b[at + i])} << (8 * i);
  return v;
}

constexpr std::size_t kGraphSizeAt = 16, kTableSizeAt = 24, kCountAt = 32, kDataOffsetAt = 40, kDataSizeAt = 48;
std::size_t table_offset(const std::string& b) { return align_up(kHeaderBytes + get_u64(b, kGraphSizeAt), kTableAlign); }

// Recomputes the header's graph and table checksums, so a test reaches the checks behind them.
void refresh_checksums(std::string& b) {
  const std::size_t graph_size = get_u64(b, kGraphSizeAt), table_size = get_u64(b, kTableSizeAt);
  set_u32(b, 56, crc32_of(b.data() + kHeaderBytes, graph_size));
  set_u32(b, 60, crc32_of(b.data() + table_offset(b), table_size));
}

// Byte positions of the fields of the first tensor table entry.
struct EntryFields {
  std::size_t name_len, name, dtype, rank, dim0, offset, nbytes, crc;
};
EntryFields first_entry(const std::string& b) {
  EntryFields e{};
  e.name_len = table_offset(b);
  e.name = e.name_len + 4;
  const std::size_t len = static_cast<unsigned char>(b[e.name_len]);
  e.dtype = e.name + len;
  e.rank = e.dtype + 4;
  e.dim0 = e.rank + 4;
  const std::size_t rank = static_cast<unsigned char>(b[e.rank]);
  e.offset = e.dim0 + 8 * rank;
  e.nbytes = e.offset + 8;
  e.crc = e.nbytes + 8;
  return e;
}

std::string sample_bytes() { return testing::make_sample().writer.serialize(); }

// The sample with one packed weight replaced (checksums stay right: the corruption is in the content).
// K = 12 has u8 column indices, K = 1100 u16; `rows` output channels per tile (N = rows == 1 ? 4 : 7: a ragged
// last tile row).
std::string with_sparse(const std::function<void(PackedWeights&)>& edit, const std::function<void(nlohmann::json&)>& edit_attrs = {},
                        std::uint64_t k = 12, std::size_t rows = 1) {
  Writer w;
  std::mt19937 rng(5);
  const std::size_t n = rows == 1 ? 4 : 7;
  const auto q = testing::random_block_weights(n, k, 0.3, rng);
  auto p = pack_sparse_int8(q.data(), n, k, rows);
  p.scale.assign(n, 0.5f);
  edit(p);
  nlohmann::json attrs = testing::quant_linear_attrs(p, 0.1f, 3);
  if (edit_attrs) edit_attrs(attrs);
  const nlohmann::json weights = w.add_weights("fc", p);
  w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, k}}}}},
               {"outputs", {{{"name", "y"}}}},
               {"ops", {testing::quantize_for(attrs, "x", "x.q"),
                        {{"name", "fc"}, {"op", "linear"}, {"inputs", {"x.q"}}, {"outputs", {"y"}}, {"attrs", attrs}, {"weights", weights}}}}});
  return w.serialize();
}

std::string with_graph(const std::string& graph_json) {
  std::string b = sample_bytes();
  const File f = File::parse(b);
  Writer w;
  for (const auto& t : f.tensors()) w.add_tensor(t.name, t.dtype, t.dims, f.data(t), t.nbytes);
  w.set_graph(nlohmann::json::parse(graph_json));
  return w.serialize();
}

// A file without tensors around raw graph text (which need not be JSON at all).
std::string tensorless_file(const std::string& graph) {
  Writer w;
  w.set_graph(nlohmann::json::object());
  std::string b = w.serialize().substr(0, kHeaderBytes);
  set_u64(b, kGraphSizeAt, graph.size());
  set_u64(b, kTableSizeAt, 0);
  set_u64(b, kDataOffsetAt, align_up(kHeaderBytes + graph.size(), kDataAlign));
  b += graph;
  b.resize(get_u64(b, kDataOffsetAt), '\0');
  refresh_checksums(b);
  return b;
}

}  // namespace

TEST_CASE("the sample file is accepted", "[format][corrupt]") { CHECK_FALSE(rejection(sample_bytes())); }

TEST_CASE("HANDCRAFTED header corruptions", "[format][corrupt]") {
  const std::string good = sample_bytes();
  auto b = good;
  SECTION("HANDCRAFTED_HEADER_BAD_MAGIC") {
    b[0] = 'X';
    CHECK(rejection(b) == FormatErrc::bad_magic);
  }
  SECTION("HANDCRAFTED_HEADER_VERSION_0") {
    set_u32(b, 8, 0);
    CHECK(rejection(b) == FormatErrc::bad_version);
  }
  SECTION("HANDCRAFTED_HEADER_FUTURE_VERSION") {
    set_u32(b, 8, kVersion + 1);
    CHECK(rejection(b) == FormatErrc::bad_version);
  }
  SECTION("HANDCRAFTED_HEADER_OLD_VERSION") {
    set_u32(b, 8, 1);  // version 1 stored 8-byte block records
    CHECK(rejection(b) == FormatErrc::bad_version);
  }
  SECTION("HANDCRAFTED_HEADER_BYTESWAPPED_VERSION") {
    set_u32(b, 8, 0x01000000u);
    CHECK(rejection(b) == FormatErrc::bad_version);
  }
  SECTION("HANDCRAFTED_HEADER_FLAGS") {
    set_u32(b, 12, 1);
    CHECK(rejection(b) == FormatErrc::bad_header);
  }
  SECTION("HANDCRAFTED_HEADER_HUGE_GRAPH") {
    set_u64(b, kGraphSizeAt, 1ull << 62);
    CHECK(rejection(b) == FormatErrc::bad_header);
  }
  SECTION("HANDCRAFTED_HEADER_HUGE_TABLE") {
    set_u64(b, kTableSizeAt, ~0ull);
    CHECK(rejection(b) == FormatErrc::bad_header);
  }
  SECTION("HANDCRAFTED_HEADER_HUGE_TENSOR_COUNT") {
    set_u64(b, kCountAt, ~0ull);
    CHECK(rejection(b) == FormatErrc::bad_header);
  }
  SECTION("HANDCRAFTED_HEADER_DATA_OFFSET_MISALIGNED") {
    set_u64(b, kDataOffsetAt, get_u64(b, kDataOffsetAt) + 8);
    CHECK(rejection(b) == FormatErrc::bad_header);
  }
  SECTION("HANDCRAFTED_HEADER_DATA_SIZE_PAST_END") {
    set_u64(b, kDataSizeAt, ~0ull - 10);
    CHECK(rejection(b) == FormatErrc::truncated);
  }
  SECTION("HANDCRAFTED_TRAILING_BYTE") {
    b.push_back('\0');
    CHECK(rejection(b) == FormatErrc::trailing_bytes);
  }
  SECTION("HANDCRAFTED_GRAPH_CHECKSUM") {
    b[kHeaderBytes + 3] ^= 1;
    CHECK(rejection(b) == FormatErrc::graph_checksum);
  }
  SECTION("HANDCRAFTED_TABLE_CHECKSUM") {
    b[table_offset(b) + 2] ^= 1;
    CHECK(rejection(b) == FormatErrc::table_checksum);
  }
  SECTION("HANDCRAFTED_TENSOR_CHECKSUM") {
    b[get_u64(b, kDataOffsetAt) + 1] ^= 0x40;
    CHECK(rejection(b) == FormatErrc::tensor_checksum);
  }
  SECTION("HANDCRAFTED_PADDING_NOT_ZERO") {
    b[get_u64(b, kDataOffsetAt) - 1] = 1;
    CHECK(rejection(b) == FormatErrc::bad_padding);
  }
}

TEST_CASE("HANDCRAFTED tensor table corruptions", "[format][corrupt]") {
  auto b = sample_bytes();
  const EntryFields e = first_entry(b);
  SECTION("HANDCRAFTED_TENSOR_NAME_LENGTH_0") { set_u32(b, e.name_len, 0); refresh_checksums(b); CHECK(rejection(b) == FormatErrc::bad_name); }
  SECTION("HANDCRAFTED_TENSOR_NAME_LENGTH_HUGE") { set_u32(b, e.name_len, 0xffffffffu); refresh_checksums(b); CHECK(rejection(b) == FormatErrc::bad_name); }
  SECTION("HANDCRAFTED_TENSOR_NAME_CONTROL_CHAR") { b[e.name] = '\n'; refresh_checksums(b); CHECK(rejection(b) == FormatErrc::bad_name); }
  SECTION("HANDCRAFTED_TENSOR_BAD_DTYPE") { set_u32(b, e.dtype, 99); refresh_checksums(b); CHECK(rejection(b) == FormatErrc::bad_dtype); }
  SECTION("HANDCRAFTED_TENSOR_RANK_0") { set_u32(b, e.rank, 0); refresh_checksums(b); CHECK(rejection(b) == FormatErrc::bad_rank); }
  SECTION("HANDCRAFTED_TENSOR_RANK_HUGE") { set_u32(b, e.rank, 1000000); refresh_checksums(b); CHECK(rejection(b) == FormatErrc::bad_rank); }
  SECTION("HANDCRAFTED_TENSOR_DIM_HUGE") { set_u64(b, e.dim0, 1ull << 40); refresh_checksums(b); CHECK(rejection(b) == FormatErrc::bad_dims); }
  SECTION("HANDCRAFTED_TENSOR_SHAPE_MISMATCH") { set_u64(b, e.dim0, 3); refresh_checksums(b); CHECK(rejection(b) == FormatErrc::size_mismatch); }
  SECTION("HANDCRAFTED_TENSOR_OFFSET_OUTSIDE") { set_u64(b, e.offset, 1ull << 50); refresh_checksums(b); CHECK(rejection(b) == FormatErrc::bad_offset); }
  SECTION("HANDCRAFTED_TENSOR_OFFSET_MISALIGNED") { set_u64(b, e.offset, 8); refresh_checksums(b); CHECK(rejection(b) == FormatErrc::bad_offset); }
  SECTION("HANDCRAFTED_TENSOR_NBYTES_PAST_END") {
    // Consistent shape and nbytes, both far larger than the file.
    set_u64(b, e.dim0, 1ull << 32);
    set_u64(b, e.nbytes, 4ull << 32);
    refresh_checksums(b);
    CHECK(rejection(b) == FormatErrc::bad_offset);
  }
}

TEST_CASE("HANDCRAFTED shapes whose size overflows", "[format][corrupt]") {
  // A rank-4 u64 tensor of 2^32 x 2^32 x 2 x 2 elements: the product overflows 64 bits.
  Writer w;
  const std::uint64_t v = 0;
  w.add_tensor("t", DType::u64, {1, 1, 1, 1}, &v, 8);
  w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {1}}}}}, {"outputs", {{{"name", "x"}}}}, {"ops", nlohmann::json::array()}});
  auto b = w.serialize();
  const EntryFields e = first_entry(b);
  for (int d = 0; d < 4; ++d) set_u64(b, e.dim0 + 8 * d, d < 2 ? 1ull << 32 : 2);
  refresh_checksums(b);
  CHECK(rejection(b) == FormatErrc::size_overflow);
}

TEST_CASE("HANDCRAFTED duplicate tensor names", "[format][corrupt]") {
  Writer w;
  const float v = 1;
  w.add_tensor("a", DType::f32, {1}, &v, 4);
  w.add_tensor("b", DType::f32, {1}, &v, 4);
  w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {1}}}}}, {"outputs", {{{"name", "x"}}}}, {"ops", nlohmann::json::array()}});
  auto b = w.serialize();
  const std::size_t second_name = b.find('b', first_entry(b).crc);
  REQUIRE(second_name != std::string::npos);
  b[second_name] = 'a';
  refresh_checksums(b);
  CHECK(rejection(b) == FormatErrc::duplicate_name);
}

TEST_CASE("HANDCRAFTED sparse weight corruptions", "[format][corrupt]") {
  CHECK_FALSE(rejection(with_sparse([](PackedWeights&) {})));
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.row_ptr[0] = 1; })) == FormatErrc::bad_row_ptr);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.row_ptr[2] = p.row_ptr[1] - 1; })) == FormatErrc::bad_row_ptr);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.row_ptr[1] = 1000; })) == FormatErrc::bad_row_ptr);
  // One more block than row_ptr counts, in both arrays; or in one array only.
  const auto add_block = [](PackedWeights& p) {
    p.block_k4_u8.push_back(p.block_k4_u8.back());
    p.block_w.push_back(p.block_w.back());
  };
  CHECK(rejection(with_sparse(add_block)) == FormatErrc::bad_row_ptr);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.block_w.push_back(1); })) == FormatErrc::bad_block_count);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.block_k4_u8.pop_back(); })) == FormatErrc::bad_block_count);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.block_k4_u8[0] = 3; })) == FormatErrc::bad_block_index);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.block_k4_u8[0] = 255; })) == FormatErrc::bad_block_index);
  CHECK(rejection(with_sparse([](PackedWeights& p) { std::swap(p.block_k4_u8[0], p.block_k4_u8[1]); })) ==
        FormatErrc::unsorted_blocks);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.block_k4_u8[1] = p.block_k4_u8[0]; })) == FormatErrc::unsorted_blocks);
  // The index width: named by the attribute, fixed by K/4, and the tensor's dtype must agree.
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a.erase("block_k4_dtype"); })) == FormatErrc::bad_graph);
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a["block_k4_dtype"] = "u16"; })) ==
        FormatErrc::bad_index_width);
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a["block_k4_dtype"] = "u32"; })) ==
        FormatErrc::bad_index_width);
  CHECK(rejection(with_sparse([](PackedWeights& p) {
          p.block_k4_dtype = DType::u16;
          p.block_k4_u16.assign(p.block_k4_u8.begin(), p.block_k4_u8.end());
        }, [](nlohmann::json& a) { a["block_k4_dtype"] = "u8"; })) == FormatErrc::bad_weight);
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a["in_features"] = 1ull << 20; })) ==
        FormatErrc::bad_index_width);
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a["in_features"] = 2000; })) ==
        FormatErrc::bad_index_width);
  // u16 indices (K = 1100, K/4 = 275).
  CHECK_FALSE(rejection(with_sparse([](PackedWeights&) {}, {}, 1100)));
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.block_k4_u16[0] = 275; }, {}, 1100)) == FormatErrc::bad_block_index);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.block_k4_u16[0] = 65535; }, {}, 1100)) == FormatErrc::bad_block_index);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.block_k4_u16[1] = p.block_k4_u16[0]; }, {}, 1100)) ==
        FormatErrc::unsorted_blocks);
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a["block_k4_dtype"] = "u8"; }, 1100)) ==
        FormatErrc::bad_index_width);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.scale[1] = std::nanf(""); })) == FormatErrc::bad_scale);
  CHECK(rejection(with_sparse([](PackedWeights& p) { p.scale[1] = 0; })) == FormatErrc::bad_scale);
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a["out_features"] = 5; })) == FormatErrc::bad_weight);
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a["block_rows"] = 4; })) == FormatErrc::bad_weight);
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a["in_features"] = 4; })) == FormatErrc::bad_block_index);
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a["input_zero_point"] = 256; })) == FormatErrc::bad_graph);
  CHECK(rejection(with_sparse([](PackedWeights&) {}, [](nlohmann::json& a) { a["out_features"] = 1ull << 63; })) == FormatErrc::bad_graph);
}

// The message of the check that rejected `bytes` (empty when accepted).
std::string rejection_message(const std::string& bytes) {
  try {
    File::parse(bytes, "corrupt.sparrow");
  } catch (const FormatError& e) {
    return e.what();
  }
  return {};
}

TEST_CASE("HANDCRAFTED R x 4 tile corruptions", "[format][corrupt]") {
  for (std::size_t rows : {2, 4}) {
    INFO("block_rows " << rows);
    const auto tiles = [rows](const std::function<void(PackedWeights&)>& edit, const std::function<void(nlohmann::json&)>& attrs = {},
                              std::uint64_t k = 12) { return with_sparse(edit, attrs, k, rows); };
    CHECK_FALSE(rejection(tiles([](PackedWeights&) {})));
    CHECK_FALSE(rejection(tiles([](PackedWeights&) {}, {}, 1100)));
    // Tile height not one the layout defines, or not the one the arrays were packed with.
    for (int bad : {0, 3, 8, 65}) {
      CHECK(rejection(tiles([](PackedWeights&) {}, [bad](nlohmann::json& a) { a["block_rows"] = bad; })) == FormatErrc::bad_graph);
    }
    CHECK(rejection_message(tiles([](PackedWeights&) {}, [](nlohmann::json& a) { a["block_rows"] = 3; })) ==
          "corrupt.sparrow: op 'fc' attrs: block_rows 3 is not supported by this reader (it reads 1, 2 or 4 rows per tile)");
    CHECK(rejection(tiles([](PackedWeights&) {}, [](nlohmann::json& a) { a["block_rows"] = 1; })) == FormatErrc::bad_weight);
    CHECK(rejection_message(tiles([](PackedWeights&) {}, [](nlohmann::json& a) { a.erase("block_rows"); })) ==
          "corrupt.sparrow: tensor 'fc.row_ptr' (row_ptr of op 'fc') is u32 [" + std::to_string(rows == 2 ? 5 : 3) +
              "], expected u32 [8]");
    // R words per tile.
    CHECK(rejection(tiles([](PackedWeights& p) { p.block_w.pop_back(); })) == FormatErrc::bad_block_count);
    CHECK(rejection(tiles([](PackedWeights& p) { p.block_k4_u8.pop_back(); })) == FormatErrc::bad_block_count);
    const std::string words = rejection_message(tiles([](PackedWeights& p) { p.block_w.push_back(1); }));
    CHECK_THAT(words, Catch::Contains("tensor 'fc.block_w'") && Catch::Contains(std::to_string(rows) + " weight word(s) per block_k4 entry"));
    // Row pointers count tiles over tile rows.
    CHECK(rejection(tiles([](PackedWeights& p) { p.row_ptr.back() += 1; })) == FormatErrc::bad_row_ptr);
    CHECK(rejection(tiles([](PackedWeights& p) { p.row_ptr[2] = p.row_ptr[1] - 1; })) == FormatErrc::bad_row_ptr);
    CHECK(rejection(tiles([](PackedWeights& p) { std::swap(p.block_k4_u8[0], p.block_k4_u8[1]); })) == FormatErrc::unsorted_blocks);
    CHECK(rejection(tiles([](PackedWeights& p) { p.block_k4_u8[0] = 3; })) == FormatErrc::bad_block_index);
    // The padding channels of the ragged last tile row (N = 7) hold zeros.
    const auto pad = [rows](PackedWeights& p) { p.block_w[(p.block_w.size() / rows - 1) * rows + rows - 1] = 1; };
    CHECK(rejection(tiles(pad)) == FormatErrc::bad_weight);
    CHECK_THAT(rejection_message(tiles(pad)), Catch::Contains("belongs to channel " + std::to_string(((7 + rows - 1) / rows) * rows - 1) +
                                                              " past out_features 7 and must be 0"));
    // Inputs past K in any row of a tile: the weights at input 11 become padding.
    CHECK(rejection(tiles([](PackedWeights&) {}, [](nlohmann::json& a) { a["in_features"] = 11; })) == FormatErrc::bad_weight);
  }
}

TEST_CASE("HANDCRAFTED weights past K must be zero", "[format][corrupt]") {
  // K = 10: the last block of each row holds inputs 8, 9 and two padding lanes.
  Writer w;
  const std::vector<std::int8_t> q(10, 1);
  auto p = pack_sparse_int8(q.data(), 1, 10);
  p.scale = {1.0f};
  p.block_w.back() = static_cast<std::int32_t>(static_cast<std::uint32_t>(p.block_w.back()) | 5u << 24);
  const auto weights = w.add_weights("fc", p);
  const nlohmann::json attrs = testing::quant_linear_attrs(p, 0.1f, 0);
  w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, 10}}}}}, {"outputs", {{{"name", "y"}}}},
               {"ops", {testing::quantize_for(attrs, "x", "x.q"), {{"name", "fc"}, {"op", "linear"}, {"inputs", {"x.q"}},
                        {"outputs", {"y"}}, {"attrs", attrs}, {"weights", weights}}}}});
  CHECK(rejection(w.serialize()) == FormatErrc::bad_weight);
}

TEST_CASE("HANDCRAFTED graph corruptions", "[format][corrupt]") {
  const std::string good = File::parse(sample_bytes()).graph().dump();
  CHECK_FALSE(rejection(with_graph(good)));
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto g = nlohmann::json::parse(good);
    edit(g);
    return with_graph(g.dump());
  };
  CHECK(rejection(edited([](auto& g) { g["ops"][1]["inputs"] = {"nowhere"}; })) == FormatErrc::bad_graph);
  CHECK(rejection(edited([](auto& g) { g["ops"][1]["op"] = "matmul"; })) == FormatErrc::bad_graph);
  CHECK(rejection(edited([](auto& g) { g["ops"][1]["attrs"].erase("in_features"); })) == FormatErrc::bad_graph);
  CHECK(rejection(edited([](auto& g) { g["ops"][1]["weights"]["row_ptr"] = "missing"; })) == FormatErrc::missing_tensor);
  CHECK(rejection(edited([](auto& g) { g["ops"][1]["weights"]["extra"] = "fc1.bias"; })) == FormatErrc::bad_graph);
  // sparse_int8 row sums are derived by the engine, not stored: the role is unknown.
  CHECK(rejection(edited([](auto& g) { g["ops"][1]["weights"]["row_sum"] = "fc1.bias"; })) == FormatErrc::bad_graph);
  CHECK(rejection(edited([](auto& g) { g["ops"][1]["weights"]["row_ptr"] = "fc1.bias"; })) == FormatErrc::bad_weight);
  CHECK(rejection(edited([](auto& g) { g["ops"][0]["attrs"]["scale"] = -1; })) == FormatErrc::bad_scale);
  CHECK(rejection(edited([](auto& g) { g["ops"][2]["outputs"] = {"x"}; })) == FormatErrc::bad_graph);
  CHECK(rejection(edited([](auto& g) { g["outputs"][0]["name"] = "nothing"; })) == FormatErrc::bad_graph);
  CHECK(rejection(edited([](auto& g) { g["ops"] = 3; })) == FormatErrc::bad_graph);
  CHECK(rejection(edited([](auto& g) { g = nlohmann::json::array(); })) == FormatErrc::bad_graph);
  CHECK(rejection(tensorless_file(std::string(100000, '[') + std::string(100000, ']'))) == FormatErrc::bad_json);
}

TEST_CASE("HANDCRAFTED invalid JSON", "[format][corrupt]") {
  auto b = sample_bytes();
  b[kHeaderBytes] = '}';
  refresh_checksums(b);
  CHECK(rejection(b) == FormatErrc::bad_json);
}

TEST_CASE("truncated at every offset: always an error, never a crash", "[format][corrupt]") {
  const std::string good = sample_bytes();
  for (std::size_t size = 0; size < good.size(); ++size) {
    INFO("truncated to " << size << " of " << good.size() << " bytes");
    CHECK(rejection(good.substr(0, size)) == FormatErrc::truncated);
  }
}

TEST_CASE("random byte flips are always caught", "[format][corrupt]") {
  const std::string good = sample_bytes();
  const unsigned seed = Catch::rngSeed();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> pos(0, good.size() - 1);
  std::uniform_int_distribution<int> bit(0, 7), flips(1, 4);
  for (int trial = 0; trial < 3000; ++trial) {
    auto b = good;
    const int count = flips(rng);
    for (int i = 0; i < count; ++i) b[pos(rng)] ^= static_cast<char>(1 << bit(rng));
    if (b == good) continue;
    INFO("seed " << seed << " trial " << trial);
    CHECK(rejection(b));
  }
}

TEST_CASE("a missing file is an io error naming it", "[format][corrupt]") {
  try {
    File::open("/nonexistent/model.sparrow");
    FAIL("opened a missing file");
  } catch (const FormatError& e) {
    CHECK(e.code() == FormatErrc::io);
    CHECK(std::string(e.what()).find("/nonexistent/model.sparrow") != std::string::npos);
  }
}

namespace {

// A decoder block's FP32 ops (docs/format.md "Ops"): rms_norm, rotary, swiglu, causal_attention over x [B, L, 8].
std::string decoder_file(const std::function<void(nlohmann::json&)>& edit) {
  Writer w;
  const std::vector<float> gamma(8, 1.0f);
  w.add_tensor("norm.gamma", DType::f32, {8}, gamma.data(), gamma.size() * sizeof(float));
  nlohmann::json g = {
      {"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, -1, 8}}}}},
      {"outputs", {{{"name", "y"}}}},
      {"ops",
       {{{"name", "norm"}, {"op", "rms_norm"}, {"inputs", {"x"}}, {"outputs", {"h"}}, {"attrs", {{"eps", 1e-6}}},
         {"weights", {{"gamma", "norm.gamma"}}}},
        {{"name", "rope"}, {"op", "rotary"}, {"inputs", {"h"}}, {"outputs", {"q"}},
         {"attrs", {{"heads", 2}, {"head_size", 4}, {"theta", 10000.0}}}},
        {{"name", "attn"}, {"op", "causal_attention"}, {"inputs", {"q", "q", "h"}}, {"outputs", {"c"}},
         {"attrs", {{"heads", 2}, {"kv_heads", 1}, {"head_size", 4}}}},
        {{"name", "mlp"}, {"op", "swiglu"}, {"inputs", {"c", "h"}}, {"outputs", {"y"}}}}}};
  edit(g);
  w.set_graph(g);
  return w.serialize();
}

// The message of the FormatError `bytes` raise (empty when accepted).
std::string message(const std::string& bytes) {
  try {
    File::parse(bytes, "decoder.sparrow");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("HANDCRAFTED decoder op attributes: golden errors", "[format][corrupt]") {
  CHECK(message(decoder_file([](auto&) {})).empty());
  const auto edited = [](const std::function<void(nlohmann::json&)>& edit) { return message(decoder_file(edit)); };
  CHECK(edited([](auto& g) { g["ops"][0]["attrs"]["eps"] = 0; }) == "decoder.sparrow: graph: op 'norm' attrs: eps must be > 0");
  CHECK(edited([](auto& g) { g["ops"][0]["weights"]["beta"] = "norm.gamma"; }) ==
        "decoder.sparrow: graph: op 'norm': unknown weight role \"beta\"");
  CHECK(edited([](auto& g) { g["ops"][1]["attrs"]["head_size"] = 3; }) ==
        "decoder.sparrow: graph: op 'rope' attrs: head_size must be even");
  CHECK(edited([](auto& g) { g["ops"][1]["attrs"]["theta"] = -1; }) == "decoder.sparrow: graph: op 'rope' attrs: theta must be > 0");
  CHECK(edited([](auto& g) { g["ops"][1]["attrs"].erase("heads"); }) == "decoder.sparrow: graph: op 'rope' attrs: missing \"heads\"");
  CHECK(edited([](auto& g) { g["ops"][2]["attrs"]["kv_heads"] = 3; }) ==
        "decoder.sparrow: graph: op 'attn' attrs: heads 2 is not a multiple of kv_heads 3");
  CHECK(edited([](auto& g) { g["ops"][2]["attrs"]["kv_heads"] = 0; }) ==
        "decoder.sparrow: graph: op 'attn' attrs: \"kv_heads\" is 0, expected [1, 4096]");
  CHECK(edited([](auto& g) { g["ops"][2]["inputs"] = {"q", "h"}; }) ==
        "decoder.sparrow: graph: op 'attn': causal_attention takes 3 inputs, got 2");
  CHECK(edited([](auto& g) { g["ops"][3]["inputs"] = {"c"}; }) == "decoder.sparrow: graph: op 'mlp': swiglu takes 2 inputs, got 1");
}

// Round trip: what the writer stores, the reader returns bit for bit, in the kernels' layout.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "core/errors.h"
#include "format/reader.h"
#include "format/sample_file.h"

using namespace sparrow;
using namespace sparrow::format;

namespace {

const nlohmann::json& op_named(const File& f, const std::string& name) {
  for (const auto& op : f.graph()["ops"])
    if (op["name"] == name) return op;
  FAIL("no op " << name);
  throw;
}

void check_layer(const File& f, const std::string& op, const testing::SampleLayer& src, WeightFormat format) {
  const WeightsView v = f.weights(op_named(f, op));
  CHECK(v.format == format);
  CHECK(v.n == src.n);
  CHECK(v.k == src.k);
  if (format == WeightFormat::fp32) {
    CHECK(unpack_fp32(v) == src.w);
  } else {
    CHECK(unpack_int8(v) == src.q);
    CHECK(std::vector<float>(v.scale, v.scale + v.n) == src.scale);
  }
  CHECK(std::vector<float>(v.bias, v.bias + v.n) == src.bias);
}

}  // namespace

TEST_CASE("round trip: every tensor, weight, scale and attribute comes back", "[format]") {
  auto sample = testing::make_sample();
  const std::string bytes = sample.writer.serialize();
  const auto path = std::filesystem::temp_directory_path() / ("sparrow_round_trip_" + std::to_string(::getpid()) + ".sparrow");
  sample.writer.write(path);
  for (const File& f : {File::parse(bytes, "memory"), File::open(path)}) {
    CHECK(f.size() == bytes.size());
    CHECK(f.version() == kVersion);
    CHECK(f.graph() == sample.writer.graph());
    CHECK(f.metadata()["sparrow.labels"] == nlohmann::json({"a", "b", "c"}));
    check_layer(f, "fc1", sample.sparse, WeightFormat::sparse_int8);
    check_layer(f, "fc2", sample.dense, WeightFormat::dense_int8);
    check_layer(f, "fc3", sample.fp32, WeightFormat::fp32);
    for (const auto& t : f.tensors()) {
      CHECK(t.offset % kDataAlign == 0);
      CHECK(reinterpret_cast<std::uintptr_t>(f.data(t)) % kDataAlign == 0);
    }
  }
  std::filesystem::remove(path);
}

TEST_CASE("the reader's views point into the mapping: no copies", "[format]") {
  const auto path = std::filesystem::temp_directory_path() / ("sparrow_views_" + std::to_string(::getpid()) + ".sparrow");
  testing::make_sample().writer.write(path);
  const File f = File::open(path);
  const WeightsView v = f.weights(op_named(f, "fc1"));
  const TensorInfo* block_k4 = f.find("fc1.block_k4");
  const TensorInfo* block_w = f.find("fc1.block_w");
  REQUIRE(block_k4);
  REQUIRE(block_w);
  CHECK(static_cast<const std::uint8_t*>(v.block_k4) == f.data(*block_k4));
  CHECK(reinterpret_cast<const std::uint8_t*>(v.block_w) == f.data(*block_w));
  std::filesystem::remove(path);
}

TEST_CASE("packers: dense weights come back from every layout", "[format]") {
  std::mt19937 rng(3);
  for (const auto& [n, k] : {std::pair<std::size_t, std::size_t>{1, 1}, {7, 13}, {16, 64}, {33, 30}, {5, 1024}, {3, 1030}}) {
    INFO("n " << n << " k " << k);
    const auto q = testing::random_block_weights(n, k, 0.7, rng);
    const auto f = testing::random_floats(n * k, -1, 1, rng);
    const auto sparse = pack_sparse_int8(q.data(), n, k);
    CHECK(sparse.block_k4_dtype == (k4_of(k) <= kMaxK4U8 ? DType::u8 : DType::u16));
    CHECK(unpack_int8(sparse.view()) == q);
    CHECK(unpack_int8(pack_dense_int8(q.data(), n, k).view()) == q);
    CHECK(unpack_fp32(pack_fp32(f.data(), n, k).view()) == f);
    for (std::size_t rows : {2, 4}) {  // R x 4 tiles, ragged last tile row when R does not divide n
      INFO("block_rows " << rows);
      const auto tiles = pack_sparse_int8(q.data(), n, k, rows);
      CHECK(tiles.row_ptr.size() == tile_rows_of(n, rows) + 1);
      CHECK(tiles.block_w.size() == tiles.view().block_count * rows);
      CHECK(unpack_int8(tiles.view()) == q);
      CHECK(block_sparsity(tiles.view()) == Approx(block_sparsity(sparse.view())));
    }
  }
}

TEST_CASE("pack_sparse_int8 with R x 4 tiles: row pointers over tile rows, R words per tile, ragged last tile row", "[format]") {
  // N = 5 rows, K = 10: tile row 0 (rows 0-1) has blocks 0 and 2, tile row 1 none, tile row 2 (row 4 and a
  // padding row) block 1.
  std::vector<std::int8_t> w(5 * 10, 0);
  w[0 * 10 + 1] = 3;
  w[1 * 10 + 9] = -2;  // block 2 of row 1: row 0's word of that tile is 0
  w[4 * 10 + 4] = 7;
  const PackedWeights p = pack_sparse_int8(w.data(), 5, 10, 2);
  CHECK(p.block_rows == 2);
  CHECK(p.row_ptr == std::vector<std::uint32_t>{0, 2, 2, 3});
  CHECK(p.block_k4_u8 == std::vector<std::uint8_t>{0, 2, 1});
  CHECK(p.block_w == std::vector<std::int32_t>{3 << 8, 0, 0, static_cast<std::int32_t>(0xFEu << 8), 7, 0});
  CHECK(p.view().block_count == 3);
  CHECK(unpack_int8(p.view()) == w);
}

TEST_CASE("pack_sparse_int8 stores column indices as u8 up to K/4 = 256, as u16 above", "[format]") {
  for (const auto& [k, dtype] : {std::pair{4u, DType::u8}, {1024u, DType::u8}, {1025u, DType::u16}, {262144u, DType::u16}}) {
    INFO("K = " << k);
    std::vector<std::int8_t> w(2 * k, 0);
    w[k - 1] = 5;  // the last column block of row 0
    w[k] = -3;     // the first of row 1
    const PackedWeights p = pack_sparse_int8(w.data(), 2, k);
    CHECK(p.block_k4_dtype == dtype);
    CHECK(p.block_k4_u8.size() == (dtype == DType::u8 ? 2u : 0u));
    CHECK(p.block_k4_u16.size() == (dtype == DType::u16 ? 2u : 0u));
    CHECK(p.row_ptr == std::vector<std::uint32_t>{0, 1, 2});
    CHECK(unpack_int8(p.view()) == w);
  }
  std::vector<std::int8_t> too_wide(4 * 65537, 1);
  CHECK_THROWS_AS(pack_sparse_int8(too_wide.data(), 1, too_wide.size()), BadInput);
}

TEST_CASE("R x 4 tile layers round-trip through a file", "[format]") {
  std::mt19937 rng(11);
  for (std::size_t rows : {1, 2, 4}) {
    for (const auto& [n, k] : {std::pair<std::size_t, std::size_t>{8, 12}, {7, 30}, {5, 1100}}) {
      INFO("block_rows " << rows << " n " << n << " k " << k);
      const auto q = testing::random_block_weights(n, k, 0.6, rng);
      PackedWeights p = pack_sparse_int8(q.data(), n, k, rows);
      p.scale = testing::random_floats(n, 0.01f, 0.1f, rng);
      Writer w;
      const nlohmann::json weights = w.add_weights("fc", p);
      const nlohmann::json attrs = testing::quant_linear_attrs(p, 0.1f, 3);
      w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, k}}}}},
                   {"outputs", {{{"name", "y"}}}},
                   {"ops", {testing::quantize_for(attrs, "x", "x.q"), {{"name", "fc"}, {"op", "linear"}, {"inputs", {"x.q"}},
                            {"outputs", {"y"}}, {"attrs", attrs}, {"weights", weights}}}}});
      const File f = File::parse(w.serialize(), "tiles.sparrow");
      const WeightsView v = f.weights(op_named(f, "fc"));
      CHECK(v.block_rows == rows);
      CHECK(v.block_count == p.block_k4_u8.size() + p.block_k4_u16.size());
      CHECK(f.find("fc.row_ptr")->dims == std::vector<std::uint64_t>{tile_rows_of(n, rows) + 1});
      CHECK(f.find("fc.block_w")->dims == std::vector<std::uint64_t>{v.block_count * rows});
      CHECK(unpack_int8(v) == q);
      CHECK(stored_bytes(v) == (tile_rows_of(n, rows) + 1) * 4 + v.block_count * (dtype_size(v.block_k4_dtype) + 4 * rows) + n * 4);
    }
  }
}

TEST_CASE("a file without tensors round-trips", "[format]") {
  Writer w;
  w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, 4}}}}},
               {"outputs", {{{"name", "y"}}}},
               {"ops", {{{"name", "r"}, {"op", "relu"}, {"inputs", {"x"}}, {"outputs", {"y"}}}}}});
  const File f = File::parse(w.serialize());
  CHECK(f.tensors().empty());
  CHECK(f.graph()["ops"][0]["op"] == "relu");
}

// Hidden: `test_format "[.write-fuzz-seeds]"` rewrites the fuzzer's seed corpus (tests/fuzz/corpus/format_reader).
TEST_CASE("write the fuzz seed corpus", "[.write-fuzz-seeds]") {
  const std::filesystem::path dir = std::filesystem::path(SPARROW_SOURCE_DIR) / "tests/fuzz/corpus/format_reader";
  std::filesystem::create_directories(dir);
  testing::make_sample().writer.write(dir / "sample.sparrow");
  Writer w;
  w.set_graph({{"inputs", {{{"name", "x"}, {"dtype", "f32"}, {"shape", {-1, 4}}}}},
               {"outputs", {{{"name", "y"}}}},
               {"ops", {{{"name", "r"}, {"op", "relu"}, {"inputs", {"x"}}, {"outputs", {"y"}}}}}});
  w.write(dir / "tensorless.sparrow");
}

// Golden bytes: the smallest useful file, written out by hand from docs/format.md. If the writer's
// output changes, either the spec changed (bump the version, update this test) or the writer broke.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "format/reader.h"
#include "format/writer.h"

using namespace sparrow::format;

TEST_CASE("golden bytes: one u8 tensor and the smallest graph", "[format]") {
  const std::string graph = R"({"inputs":[{"dtype":"u8","name":"x","shape":[3]}],"ops":[],"outputs":[{"name":"x"}]})";
  REQUIRE(graph.size() == 84);
  const unsigned char header[64] = {
      'S', 'P', 'A', 'R', 'R', 'O', 'W', 0,  // magic
      2, 0, 0, 0,                            // version 2
      0, 0, 0, 0,                            // flags
      84, 0, 0, 0, 0, 0, 0, 0,               // graph_size
      41, 0, 0, 0, 0, 0, 0, 0,               // table_size
      1, 0, 0, 0, 0, 0, 0, 0,                // tensor_count
      0, 1, 0, 0, 0, 0, 0, 0,                // data_offset 256 = align64(152 + 41)
      3, 0, 0, 0, 0, 0, 0, 0,                // data_size
      0xf4, 0xc6, 0x79, 0x73,                // crc32 of the graph JSON
      0xdd, 0x78, 0x30, 0x78,                // crc32 of the tensor table
  };
  const unsigned char table[41] = {
      1, 0, 0, 0, 't',                  // name
      2, 0, 0, 0,                       // dtype u8
      1, 0, 0, 0,                       // rank
      3, 0, 0, 0, 0, 0, 0, 0,           // dims[0]
      0, 0, 0, 0, 0, 0, 0, 0,           // offset in the data section
      3, 0, 0, 0, 0, 0, 0, 0,           // nbytes
      0x1d, 0x80, 0xbc, 0x55,           // crc32 of {1, 2, 3}
  };
  std::string expected(reinterpret_cast<const char*>(header), sizeof(header));
  expected += graph;
  expected.resize(152, '\0');  // table at align8(64 + 84)
  expected.append(reinterpret_cast<const char*>(table), sizeof(table));
  expected.resize(256, '\0');
  expected += std::string("\x01\x02\x03", 3);

  Writer w;
  const unsigned char data[3] = {1, 2, 3};
  w.add_tensor("t", DType::u8, {3}, data, 3);
  w.set_graph(nlohmann::json::parse(graph));
  CHECK(w.serialize() == expected);

  const File f = File::parse(expected, "golden");
  REQUIRE(f.tensors().size() == 1);
  CHECK(f.tensors()[0].name == "t");
  CHECK(f.data(f.tensors()[0])[2] == 3);
}

TEST_CASE("golden bytes: the arrays of a sparse_int8 layer", "[format]") {
  // W [2][10]: row 0 holds inputs 0..3 and 9 (the last, padded block), row 1 only input 5.
  std::vector<std::int8_t> w(20, 0);
  w[0] = 1, w[1] = -1, w[2] = 2, w[3] = -128 + 1, w[9] = 5, w[10 + 5] = -3;
  const PackedWeights p = pack_sparse_int8(w.data(), 2, 10);
  CHECK(p.block_k4_dtype == DType::u8);
  CHECK(p.row_ptr == std::vector<std::uint32_t>{0, 2, 3});
  CHECK(p.block_k4_u8 == std::vector<std::uint8_t>{0, 2, 1});
  CHECK(p.block_k4_u16.empty());
  // Little-endian words, input 4*k4 in the low byte: {1, -1, 2, -127}, {0, 5, 0, 0} (inputs 8, 9 and two
  // padding lanes), {0, -3, 0, 0}.
  CHECK(p.block_w == std::vector<std::int32_t>{static_cast<std::int32_t>(0x81'02'ff'01u), 0x0500, 0xfd00});
  CHECK(p.row_sum.empty());

  PackedWeights with_scale = p;
  with_scale.scale = {1.0f, 1.0f};
  Writer writer;
  const nlohmann::json roles = writer.add_weights("fc", with_scale);
  CHECK(roles == nlohmann::json{{"row_ptr", "fc.row_ptr"}, {"block_k4", "fc.block_k4"}, {"block_w", "fc.block_w"}, {"scale", "fc.scale"}});
}

TEST_CASE("golden bytes: a sparse_int8 layer in 2x4 tiles with a ragged last tile row", "[format]") {
  // W [3][10]: rows 0-1 share blocks 0 and 2 (row 1 has nothing in block 2), row 2 (tile row 1, with a
  // padding row) only input 5.
  std::vector<std::int8_t> w(30, 0);
  w[0] = 1, w[1] = -1, w[2] = 2, w[3] = -127, w[10 + 0] = 4, w[9] = 5, w[20 + 5] = -3;
  const PackedWeights p = pack_sparse_int8(w.data(), 3, 10, 2);
  CHECK(p.block_rows == 2);
  CHECK(p.row_ptr == std::vector<std::uint32_t>{0, 2, 3});
  CHECK(p.block_k4_u8 == std::vector<std::uint8_t>{0, 2, 1});
  // Per tile, row 0's word then row 1's: {1, -1, 2, -127} {4, 0, 0, 0} | {0, 5, 0, 0} {0} | {0, -3, 0, 0} {0}.
  CHECK(p.block_w == std::vector<std::int32_t>{static_cast<std::int32_t>(0x81'02'ff'01u), 4, 0x0500, 0, 0xfd00, 0});
  const WeightsView v = p.view();
  CHECK(v.block_count == 3);
  // 4 of the 9 1x4 row blocks (3 rows x K4 3) hold weights.
  CHECK(block_sparsity(v) == Approx(1.0 - 4.0 / 9.0));
  // row_ptr 3 x 4, block_k4 3 x 1, block_w 6 x 4, scale 3 x 4.
  PackedWeights with_scale = p;
  with_scale.scale = {1.0f, 1.0f, 1.0f};
  CHECK(stored_bytes(with_scale.view()) == 12u + 3u + 24u + 12u);
}

// The one mask-kind type: which mask_type spellings it takes, their canonical names, and what it refuses.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "recipe/mask_kind.h"

using sparrow::recipe::MaskKind;

TEST_CASE("mask kinds parse SparseML's spellings", "[recipe][mask]") {
  CHECK(MaskKind::parse("unstructured").type == MaskKind::Type::Unstructured);
  CHECK(MaskKind::parse("unstructured").max_sparsity() == 1.0);
  const MaskKind block4 = MaskKind::parse("block4");
  CHECK(block4.type == MaskKind::Type::Block);
  CHECK(block4.rows == 1);
  CHECK(block4.cols == 4);
  CHECK(block4.name() == "block4");
  CHECK(MaskKind::parse("block").name() == "block4");
  CHECK(MaskKind::parse("[1, 4]").name() == "block4");
  CHECK(MaskKind::parse("[4,4]").rows == 4);
  CHECK(MaskKind::parse("[ 2 , 4 ]").name() == "[2,4]");
  CHECK(MaskKind::block(4, 4).name() == "[4,4]");
  CHECK(MaskKind::parse("[256,4]").rows == 256);
  const MaskKind two_of_four = MaskKind::parse("2:4");
  CHECK(two_of_four.type == MaskKind::Type::NofM);
  CHECK(two_of_four.n == 2);
  CHECK(two_of_four.m == 4);
  CHECK(two_of_four.name() == "2:4");
  CHECK(two_of_four.max_sparsity() == 0.5);
  CHECK(MaskKind::parse("1:64").max_sparsity() == 1.0 - 1.0 / 64.0);
}

TEST_CASE("mask kinds the engine cannot run fast or the trainer cannot make are refused, naming what is valid",
          "[recipe][mask][limits]") {
  CHECK_THROWS_WITH(MaskKind::parse("[2,8]"), "block masks are 4 columns wide ([r, 4]: the engine's INT8 lane), got [2, 8]");
  CHECK_THROWS_WITH(MaskKind::parse("[1,1]"), "block masks are 4 columns wide ([r, 4]: the engine's INT8 lane), got [1, 1]");
  CHECK_THROWS_WITH(MaskKind::block(3, 2), "block masks are 4 columns wide ([r, 4]: the engine's INT8 lane), got [3, 2]");
  CHECK_THROWS_WITH(MaskKind::parse("[0,4]"), "a block mask_type [r, 4] has 1 <= r <= 256 rows, got [0, 4]");
  CHECK_THROWS_WITH(MaskKind::parse("[257,4]"), "a block mask_type [r, 4] has 1 <= r <= 256 rows, got [257, 4]");
  // Numbers past int64 are echoed as written, not as the saturated count.
  CHECK_THROWS_WITH(MaskKind::parse("[99999999999999999999999,4]"),
                    "a block mask_type [r, 4] has 1 <= r <= 256 rows, got [99999999999999999999999, 4]");
  CHECK_THROWS_WITH(MaskKind::block(99999999999, 4), "a block mask_type [r, 4] has 1 <= r <= 256 rows, got [99999999999, 4]");
  CHECK_THROWS_WITH(MaskKind::parse("4:2"), "an N:M mask_type needs 0 < N < M <= 64, got '4:2'");
  CHECK_THROWS_WITH(MaskKind::parse("0:4"), "an N:M mask_type needs 0 < N < M <= 64, got '0:4'");
  CHECK_THROWS_WITH(MaskKind::parse("2:65"), "an N:M mask_type needs 0 < N < M <= 64, got '2:65'");
  CHECK_THROWS_WITH(MaskKind::parse("2:99999999999999999999"), "an N:M mask_type needs 0 < N < M <= 64, got '2:99999999999999999999'");
  const std::string valid = "; valid: unstructured, block4, [r, 4] (e.g. [2, 4]) or \"N:M\" (e.g. \"2:4\")";
  CHECK_THROWS_WITH(MaskKind::parse("block8"), "unknown mask_type 'block8' (did you mean 'block4'?)" + valid);
  CHECK_THROWS_WITH(MaskKind::parse("channel"), "mask_type 'channel' is a SparseML mask Sparrow does not implement" + valid);
  // A long text never reaches std::regex (it recurses per character).
  CHECK_THROWS_AS(MaskKind::parse(std::string(200000, '1') + ":4"), std::invalid_argument);
}

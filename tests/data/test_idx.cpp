#include <catch2/catch.hpp>
#include <unistd.h>
#include <zlib.h>

#include "core/errors.h"
#include "core/files.h"
#include "data/dataset.h"
#include "data/fashion_mnist.h"
#include "data/idx_file.h"

using namespace sparrow;
using namespace sparrow::data;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_test_idx_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

std::string gunzip(const fs::path& file) {
  gzFile gz = gzopen(file.string().c_str(), "rb");
  REQUIRE(gz != nullptr);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(gz, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(gz);
  return out;
}

const fs::path kImages = default_fashion_mnist_dir() / "t10k-images-idx3-ubyte.gz";
const fs::path kLabels = default_fashion_mnist_dir() / "t10k-labels-idx1-ubyte.gz";

}  // namespace

TEST_CASE("IDX reader reads the real Fashion-MNIST test files", "[data]") {
  const IdxArray images = read_idx(kImages);
  CHECK(images.dims == std::vector<int64_t>{10000, 28, 28});
  CHECK(images.values.size() == 10000u * 28 * 28);
  const IdxArray labels = read_idx(kLabels);
  CHECK(labels.dims == std::vector<int64_t>{10000});
  // The test set is balanced: 1000 items per class.
  std::vector<int> counts(10, 0);
  for (uint8_t l : labels.values) ++counts.at(l);
  for (int c : counts) CHECK(c == 1000);
}

TEST_CASE("IDX limit reads only the first items", "[data]") {
  const IdxArray all = read_idx(kLabels);
  const IdxArray some = read_idx(kLabels, 37);
  REQUIRE(some.dims == std::vector<int64_t>{37});
  CHECK(std::equal(some.values.begin(), some.values.end(), all.values.begin()));
}

TEST_CASE("Fashion-MNIST dataset is normalised and labelled", "[data]") {
  const Dataset d = load_fashion_mnist(default_fashion_mnist_dir(), Split::Test, 500);
  REQUIRE(d.size() == 500);
  CHECK(d.inputs.sizes() == torch::IntArrayRef({500, 1, 28, 28}));
  CHECK(d.num_classes() == 10);
  // Pixels in [0, 255] map to [-mean/std, (1-mean)/std].
  CHECK(d.inputs.min().item<float>() == Approx(-0.2860 / 0.3530).epsilon(1e-5));
  CHECK(d.inputs.max().item<float>() <= (1 - 0.2860) / 0.3530 + 1e-4);
}

TEST_CASE("IDX reader rejects missing, truncated and corrupt files by name", "[data]") {
  const std::string raw = gunzip(kLabels);

  SECTION("missing") {
    CHECK_THROWS_WITH(read_idx(scratch("absent.gz")), Catch::Contains("absent.gz") && Catch::Contains("not found"));
  }
  SECTION("truncated data (uncompressed)") {
    const fs::path f = scratch("short-labels-idx1-ubyte");
    write_file_atomic(f, raw.substr(0, raw.size() - 10));
    CHECK_THROWS_WITH(read_idx(f), Catch::Contains(f.string()) && Catch::Contains("truncated"));
  }
  SECTION("truncated gzip stream") {
    const std::string gz = read_file(kLabels);
    const fs::path f = scratch("cut.gz");
    write_file_atomic(f, gz.substr(0, gz.size() / 2));
    CHECK_THROWS_AS(read_idx(f), BadInput);
  }
  SECTION("bad magic") {
    std::string bad = raw;
    bad[2] = 0x0D;  // float data: not what the loader reads
    const fs::path f = scratch("magic-idx1-ubyte");
    write_file_atomic(f, bad);
    CHECK_THROWS_WITH(read_idx(f), Catch::Contains("bad magic"));
  }
  SECTION("flipped byte in the compressed data fails the checksum") {
    std::string gz = read_file(kLabels);
    gz[gz.size() - 20] = static_cast<char>(gz[gz.size() - 20] ^ 0x55);
    const fs::path f = scratch("flipped.gz");
    write_file_atomic(f, gz);
    CHECK_THROWS_AS(read_idx(f), BadInput);
  }
  SECTION("labels count not matching images") {
    const fs::path dir = scratch("mismatch");
    fs::create_directories(dir);
    fs::copy_file(kImages, dir / "t10k-images-idx3-ubyte.gz", fs::copy_options::overwrite_existing);
    std::string fewer = raw;
    fewer[7] = static_cast<char>(static_cast<unsigned char>(fewer[7]) - 1);  // 9999 labels
    fewer.pop_back();
    write_file_atomic(dir / "t10k-labels-idx1-ubyte.gz", fewer);
    CHECK_THROWS_WITH(load_fashion_mnist(dir, Split::Test, 0), Catch::Contains("labels for"));
  }
}

TEST_CASE("epoch order is a deterministic permutation that changes per epoch", "[data]") {
  const auto a = epoch_order(1000, 7, 0);
  CHECK(a == epoch_order(1000, 7, 0));
  CHECK(a != epoch_order(1000, 7, 1));
  CHECK(a != epoch_order(1000, 8, 0));
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);
  const auto batches = make_batches(a, 64);
  REQUIRE(batches.size() == 16u);
  CHECK(batches.back().size(0) == 1000 - 15 * 64);
  CHECK(batches[1][0].item<int64_t>() == a[64]);
}

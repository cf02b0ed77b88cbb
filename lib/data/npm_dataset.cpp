#include "data/npm_dataset.h"

#include <cstdlib>

namespace sparrow::data {

std::filesystem::path npm_dataset_dir(const std::string& package) {
  const char* env = std::getenv("SPARROW_DATA_DIR");
  const std::filesystem::path root = env && *env ? env : "/usr/local/share/sparrow";
  return root / "node_modules" / package / "data";
}

}  // namespace sparrow::data

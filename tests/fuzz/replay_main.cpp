// The suite's short run of a fuzz target, for builds without libFuzzer (GCC): feeds
// LLVMFuzzerTestOneInput every file of the target's corpus, then a deterministic stream of mutants of
// them (bit flips, truncations, byte insertions and deletions, a fixed seed) until a count or a time
// budget runs out. The entry point swallows the errors a parser may give (BadInput and kin); anything
// that escapes it fails this run, and the input is saved beside the test so it can be replayed alone.
//   replay_<target> <corpus dir> [mutants (default 50000)] [seconds (default 4)]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Clock = std::chrono::steady_clock;

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Bytes that change a parser's path more often than a random one: delimiters, quotes, digits, extremes.
constexpr char kInteresting[] = {'\0', '\n', '"', ',', ':', '[', ']', '{', '}', '(', ')', '-', '9', ' ', '\'', '\xff', '\x80'};

std::string mutate(std::string s, std::mt19937_64& rng) {
  const auto below = [&](std::size_t n) { return n == 0 ? std::size_t{0} : static_cast<std::size_t>(rng() % n); };
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 5) {
      case 0:  // flip one bit
        if (!s.empty()) s[below(s.size())] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // truncate
        s.resize(below(s.size() + 1));
        break;
      case 2:  // insert a byte
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(below(s.size() + 1)),
                 kInteresting[below(sizeof kInteresting)]);
        break;
      case 3:  // delete a byte
        if (!s.empty()) s.erase(below(s.size()), 1);
        break;
      default:  // duplicate a slice elsewhere
        if (!s.empty()) {
          const std::size_t from = below(s.size()), len = 1 + below(std::min<std::size_t>(s.size() - from, 64));
          s.insert(below(s.size() + 1), s.substr(from, len));
        }
    }
  }
  return s;
}

// Runs one input; on an escaping exception, saves the input and returns false.
bool run(const std::string& input, const std::string& what) {
  try {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    return true;
  } catch (const std::exception& e) {
    std::cerr << what << ": exception escaped the target: " << e.what() << "\n";
  } catch (...) {
    std::cerr << what << ": a non-std exception escaped the target\n";
  }
  const std::string saved = "replay-failure.bin";
  std::ofstream(saved, std::ios::binary) << input;
  std::cerr << "input saved to " << std::filesystem::absolute(saved).string() << " (" << input.size() << " bytes)\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " <corpus dir> [mutants] [seconds]\n";
    return 2;
  }
  const std::filesystem::path corpus = argv[1];
  const long mutants = argc > 2 ? std::stol(argv[2]) : 50000;
  const double seconds = argc > 3 ? std::stod(argv[3]) : 4.0;

  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(corpus))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());  // directory order is not stable; the mutant stream must be
  if (files.empty()) {
    std::cerr << corpus.string() << ": no seed files\n";
    return 1;
  }
  std::vector<std::string> seeds;
  for (const auto& f : files) {
    seeds.push_back(read_all(f));
    if (!run(seeds.back(), f.string())) return 1;
  }

  std::mt19937_64 rng(20261206);
  const auto start = Clock::now();
  long done = 0;
  for (; done < mutants; ++done) {
    if (std::chrono::duration<double>(Clock::now() - start).count() > seconds) break;
    const std::size_t seed = static_cast<std::size_t>(done) % seeds.size();
    if (!run(mutate(seeds[seed], rng), "mutant " + std::to_string(done) + " of " + files[seed].string())) return 1;
  }
  std::cout << files.size() << " seeds and " << done << " mutants ran clean in "
            << std::chrono::duration<double>(Clock::now() - start).count() << " s\n";
  return 0;
}

// `compress report --out DIR`: writes DIR/report.html again from the run folder's report.json, resolved recipe
// and checkpoint (pipeline/report_html.h), e.g. for a folder written before report.html existed.
#include <iostream>
#include <memory>

#include "apps/compress/command.h"
#include "core/errors.h"
#include "core/files.h"
#include "pipeline/report_html.h"

namespace sparrow::apps {

namespace {

int run_report(const std::string& out_dir, const CommonFlags& common) {
  const fs::path dir = out_dir;
  if (fs::is_regular_file(dir / "sweep.json") && !fs::exists(dir / "report.json"))
    throw BadInput("--out " + out_dir + ": a sweep's folder; run the same compress sweep again, which rewrites "
                   "sweep.html without rerunning its finished points");
  if (!fs::is_regular_file(dir / "report.json"))
    throw BadInput("--out " + out_dir + ": no report.json; expected the output folder of a compress run");
  add_run_entry(dir, "report.html", "--out");
  pipeline::write_report_html(dir);
  if (common.json) std::cout << nlohmann::json{{"report_html", (dir / "report.html").string()}}.dump(2) << std::endl;
  else std::cout << "wrote " << (dir / "report.html").string() << std::endl;
  return 0;
}

}  // namespace

Action register_report(CLI::App& sub, const CommonFlags& common) {
  auto out_dir = std::make_shared<std::string>();
  sub.add_option("--out", *out_dir, "A compress run's output folder (it holds report.json)")->required();
  sub.footer(
      "Examples:\n"
      "  compress report --out out/fashion_cnn90\n"
      "Exit codes: 0 ok, 2 bad input, 3 internal error.");
  return [out_dir, &common] { return run_report(*out_dir, common); };
}

}  // namespace sparrow::apps

// The page around Sparrow's HTML reports (report.html, sweep.html): one self-contained file, its style inline,
// no script and nothing fetched, so it reads offline and in any browser. Markup is XHTML-compatible (every
// element closed, text escaped), so tests parse it as XML.
#pragma once

#include <string>
#include <vector>

namespace sparrow::pipeline::html {

// <!DOCTYPE html> and the document with `title` in <title> and <h1>; `body` is markup put as is.
std::string page(const std::string& title, const std::string& body);

// A table: the header cells and rows of cells, text escaped. A row's first cell is its <th scope="row">.
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// <section id="id"><h2>heading</h2>body</section>; body is markup put as is.
std::string section(const std::string& id, const std::string& heading, const std::string& body);

}  // namespace sparrow::pipeline::html

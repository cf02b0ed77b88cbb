#include "pipeline/html_page.h"

#include "pipeline/svg_plot.h"

namespace sparrow::pipeline::html {

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
         "<meta name=\"generator\" content=\"Sparrow " SPARROW_VERSION "\"/>\n<title>" +
         svg::escape(title) +
         "</title>\n<style>\n"
         "body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }\n"
         "table { border-collapse: collapse; margin: 0.5em 0 1em; }\n"
         "th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }\n"
         "td { font-variant-numeric: tabular-nums; }\n"
         "pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }\n"
         "svg { display: block; margin: 0.5em 0; }\n"
         ".plots { display: flex; flex-wrap: wrap; gap: 1em; }\n"
         "</style>\n</head>\n<body>\n<h1>" +
         svg::escape(title) + "</h1>\n" + body + "</body>\n</html>\n";
}

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table>\n<tr>";
  for (const auto& h : header) out += "<th>" + svg::escape(h) + "</th>";
  out += "</tr>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (size_t i = 0; i < row.size(); ++i)
      out += (i == 0 ? "<th scope=\"row\">" : "<td>") + svg::escape(row[i]) + (i == 0 ? "</th>" : "</td>");
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

std::string section(const std::string& id, const std::string& heading, const std::string& body) {
  return "<section id=\"" + svg::escape(id) + "\">\n<h2>" + svg::escape(heading) + "</h2>\n" + body + "</section>\n";
}

}  // namespace sparrow::pipeline::html

#include "data/text/email.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

#include "text/unicode.h"

namespace sparrow::data::text {

namespace {

// Guards against pathological nesting in spam.
constexpr int kMaxDepth = 8;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct Part {
  std::map<std::string, std::string> headers;  // lower-case names, unfolded values
  std::string_view body;
};

Part split_part(std::string_view msg) {
  Part part;
  size_t pos = 0;
  // An mbox "From " separator line precedes the headers in this corpus.
  if (msg.rfind("From ", 0) == 0) {
    pos = msg.find('\n');
    pos = pos == std::string_view::npos ? msg.size() : pos + 1;
  }
  std::string name;
  while (pos < msg.size()) {
    size_t end = msg.find('\n', pos);
    if (end == std::string_view::npos) end = msg.size();
    std::string_view line = msg.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = std::min(end + 1, msg.size());
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !name.empty()) {
      part.headers[name] += " " + std::string(trim(line));
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    name = lower(trim(line.substr(0, colon)));
    part.headers[name] = std::string(trim(line.substr(colon + 1)));
  }
  part.body = msg.substr(pos);
  return part;
}

std::string header(const Part& p, const std::string& name) {
  const auto it = p.headers.find(name);
  return it == p.headers.end() ? std::string() : it->second;
}

// The value of `param` in a header like `multipart/mixed; boundary="x"`.
std::string header_param(const std::string& value, const std::string& param) {
  const std::string low = lower(value);
  size_t at = 0;
  while ((at = low.find(param, at)) != std::string::npos) {
    const bool starts = at == 0 || low[at - 1] == ';' || std::isspace(static_cast<unsigned char>(low[at - 1]));
    size_t eq = at + param.size();
    while (eq < low.size() && low[eq] == ' ') ++eq;
    if (starts && eq < low.size() && low[eq] == '=') {
      size_t v = eq + 1;
      while (v < value.size() && value[v] == ' ') ++v;
      if (v < value.size() && value[v] == '"') {
        const size_t close = value.find('"', v + 1);
        return value.substr(v + 1, close == std::string::npos ? std::string::npos : close - v - 1);
      }
      size_t e = v;
      while (e < value.size() && value[e] != ';' && !std::isspace(static_cast<unsigned char>(value[e]))) ++e;
      return value.substr(v, e - v);
    }
    at += param.size();
  }
  return {};
}

std::string decode_body(const Part& p) {
  const std::string cte = lower(trim(header(p, "content-transfer-encoding")));
  if (cte == "quoted-printable") return decode_quoted_printable(p.body);
  if (cte == "base64") return decode_base64(p.body);
  return std::string(p.body);
}

// RFC 2047 encoded words (=?charset?Q|B?text?=) in a header value.
std::string decode_header_words(const std::string& value) {
  std::string out;
  size_t pos = 0;
  while (pos < value.size()) {
    const size_t start = value.find("=?", pos);
    if (start == std::string::npos) break;
    const size_t q1 = value.find('?', start + 2);
    const size_t q2 = q1 == std::string::npos ? q1 : value.find('?', q1 + 1);
    const size_t end = q2 == std::string::npos ? q2 : value.find("?=", q2 + 1);
    if (end == std::string::npos) break;
    out += value.substr(pos, start - pos);
    const char enc = static_cast<char>(std::tolower(static_cast<unsigned char>(value[q1 + 1])));
    std::string payload = value.substr(q2 + 1, end - q2 - 1);
    if (enc == 'q') {
      std::replace(payload.begin(), payload.end(), '_', ' ');
      out += decode_quoted_printable(payload);
    } else {
      out += decode_base64(payload);
    }
    pos = end + 2;
  }
  out += value.substr(pos);
  return out;
}

void collect_text(std::string_view msg, int depth, std::string& out) {
  if (depth > kMaxDepth) return;
  const Part part = split_part(msg);
  const std::string content_type = header(part, "content-type");
  const std::string type = lower(trim(content_type.substr(0, content_type.find(';'))));
  if (type.rfind("multipart/", 0) == 0) {
    const std::string boundary = header_param(content_type, "boundary");
    if (boundary.empty()) return;
    const std::string delimiter = "--" + boundary;
    std::vector<std::string_view> parts;
    size_t pos = part.body.find(delimiter);
    while (pos != std::string_view::npos) {
      size_t begin = part.body.find('\n', pos);
      if (begin == std::string_view::npos) break;
      if (part.body.substr(pos + delimiter.size(), 2) == "--") break;  // closing delimiter
      ++begin;
      const size_t next = part.body.find(delimiter, begin);
      parts.push_back(part.body.substr(begin, next == std::string_view::npos ? std::string_view::npos : next - begin));
      pos = next;
    }
    // multipart/alternative holds one text in several forms: prefer plain text.
    if (type == "multipart/alternative") {
      for (const auto& p : parts) {
        const std::string ct = lower(header(split_part(p), "content-type"));
        if (ct.empty() || ct.rfind("text/plain", 0) == 0) {
          collect_text(p, depth + 1, out);
          return;
        }
      }
    }
    for (const auto& p : parts) collect_text(p, depth + 1, out);
    return;
  }
  if (type == "message/rfc822") {
    collect_text(part.body, depth + 1, out);
    return;
  }
  if (!type.empty() && type.rfind("text/", 0) != 0) return;  // images, attachments
  const std::string text = to_utf8(decode_body(part));
  if (!out.empty()) out += "\n";
  out += type == "text/html" ? html_to_text(text) : text;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string decode_quoted_printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    // Soft line break: "=" at the end of a line (optionally followed by spaces / CR).
    size_t j = i + 1;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) ++j;
    if (j >= s.size() || s[j] == '\n') {
      i = j;
      continue;
    }
    if (i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += '=';  // not an escape: keep it, as lenient decoders do
    }
  }
  return out;
}

std::string decode_base64(std::string_view s) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') break;
    else continue;  // line breaks and stray characters
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string html_to_text(std::string_view html) {
  static const std::map<std::string, char32_t> kEntities = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '},
      {"copy", 0xA9}, {"reg", 0xAE}, {"trade", 0x2122}, {"euro", 0x20AC}, {"pound", 0xA3}, {"mdash", 0x2014},
      {"ndash", 0x2013}, {"hellip", 0x2026}, {"rsquo", 0x2019}, {"lsquo", 0x2018}, {"rdquo", 0x201D}, {"ldquo", 0x201C}};
  static const char* kBlocks[] = {"br", "p", "div", "tr", "li", "table", "h1", "h2", "h3", "h4", "title"};
  std::string out;
  size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      if (html.substr(i, 4) == "<!--") {
        const size_t end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? html.size() : end + 3;
        continue;
      }
      const size_t end = html.find('>', i);
      if (end == std::string_view::npos) break;
      std::string tag = lower(html.substr(i + 1, end - i - 1));
      const bool closing = !tag.empty() && tag[0] == '/';
      std::string name;
      for (size_t k = closing ? 1 : 0; k < tag.size() && std::isalnum(static_cast<unsigned char>(tag[k])); ++k) name += tag[k];
      i = end + 1;
      if (!closing && (name == "script" || name == "style")) {
        const std::string close = "</" + name;
        size_t stop = i;
        while (stop < html.size()) {
          stop = html.find('<', stop);
          if (stop == std::string_view::npos || lower(html.substr(stop, close.size())) == close) break;
          ++stop;
        }
        if (stop == std::string_view::npos) break;
        const size_t gt = html.find('>', stop);
        i = gt == std::string_view::npos ? html.size() : gt + 1;
        continue;
      }
      out += std::find(std::begin(kBlocks), std::end(kBlocks), name) != std::end(kBlocks) ? '\n' : ' ';
      continue;
    }
    if (c == '&') {
      const size_t semi = html.find(';', i);
      if (semi != std::string_view::npos && semi - i <= 10) {
        const std::string_view ent = html.substr(i + 1, semi - i - 1);
        char32_t cp = 0;
        if (!ent.empty() && ent[0] == '#') {
          const bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
          const std::string digits(ent.substr(hex ? 2 : 1));
          if (!digits.empty() && digits.size() <= 7 &&
              std::all_of(digits.begin(), digits.end(), [&](char d) { return hex ? std::isxdigit(static_cast<unsigned char>(d)) : std::isdigit(static_cast<unsigned char>(d)); }))
            cp = static_cast<char32_t>(std::stoul(digits, nullptr, hex ? 16 : 10));
        } else {
          const auto it = kEntities.find(lower(ent));
          if (it != kEntities.end()) cp = it->second;
        }
        if (cp > 0 && cp <= 0x10FFFF) {
          sparrow::text::utf8_append(out, cp);
          i = semi + 1;
          continue;
        }
      }
    }
    out += c;
    ++i;
  }
  return out;
}

std::string to_utf8(std::string_view bytes) {
  if (sparrow::text::is_valid_utf8(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (unsigned char b : bytes) sparrow::text::utf8_append(out, b);
  return out;
}

EmailText parse_email(std::string_view message) {
  EmailText e;
  const Part top = split_part(message);
  e.subject = to_utf8(decode_header_words(header(top, "subject")));
  collect_text(message, 0, e.body);
  return e;
}

}  // namespace sparrow::data::text

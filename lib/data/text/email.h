#pragma once
// The text of an RFC 822 / MIME e-mail: its subject and the readable body
// (text/plain and text/html parts, quoted-printable or base64 decoded, HTML
// reduced to its text), as UTF-8. Headers other than the subject are dropped so
// a classifier learns from what the reader sees, not from the routing.
#include <string>
#include <string_view>

namespace sparrow::data::text {

struct EmailText {
  std::string subject;
  std::string body;
};

EmailText parse_email(std::string_view message);

// Helpers, exposed for their tests.
std::string decode_quoted_printable(std::string_view s);
std::string decode_base64(std::string_view s);
// Tags, comments, <script> and <style> removed; entities decoded; block tags become line breaks.
std::string html_to_text(std::string_view html);
// Valid UTF-8 is kept; anything else is read as Latin-1 (the corpus's usual charset).
std::string to_utf8(std::string_view bytes);

}  // namespace sparrow::data::text

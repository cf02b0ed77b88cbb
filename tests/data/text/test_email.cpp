// RFC 822 / MIME e-mails reduced to subject and readable body text.
#include <catch2/catch.hpp>

#include "data/text/email.h"

using namespace sparrow::data::text;
using Catch::Contains;

TEST_CASE("quoted-printable, base64 and Latin-1 decoding", "[email]") {
  CHECK(decode_quoted_printable("caf=E9 =3D ok=\nsoft break=20\n") == "caf\xe9 = oksoft break \n");
  CHECK(decode_quoted_printable("100% =ZZ sure=") == "100% =ZZ sure");
  CHECK(decode_base64("SGVsbG8s\r\nIHdvcmxkIQ==") == "Hello, world!");
  CHECK(decode_base64("") == "");
  CHECK(to_utf8("caf\xe9") == "caf\xc3\xa9");
  CHECK(to_utf8("caf\xc3\xa9 \xef\xbf\xbd") == "caf\xc3\xa9 \xef\xbf\xbd");
}

TEST_CASE("HTML is reduced to its text", "[email]") {
  const std::string text = html_to_text(
      "<html><head><style>p {color: red}</style><script>var x = '<b>';</script></head>"
      "<body><!-- hidden --><p>Save&nbsp;70%&amp;more</p><a href=\"x\">CLICK</a><br>&#169; &#x263A; &bogus;</body></html>");
  CHECK_THAT(text, Contains("Save 70%&more"));
  CHECK_THAT(text, Contains("CLICK"));
  CHECK_THAT(text, Contains("\xc2\xa9 \xe2\x98\xba &bogus;"));
  CHECK_THAT(text, !Contains("color") && !Contains("var x") && !Contains("hidden") && !Contains("href"));
}

TEST_CASE("A MIME message keeps subject and text parts, decoded", "[email]") {
  const std::string msg =
      "From someone@example.com  Thu Aug 22 13:17:22 2002\n"
      "Received: from x\n"
      "\tby y\n"
      "Subject: =?iso-8859-1?Q?Caf=E9_offer?=\n"
      " for you\n"
      "Content-Type: multipart/mixed;\n"
      "  boundary=\"OUTER\"\n"
      "\n"
      "This is a MIME preamble.\n"
      "--OUTER\n"
      "Content-Type: multipart/alternative; boundary=INNER\n"
      "\n"
      "--INNER\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "UGxhaW4gdmVyc2lvbg==\n"
      "--INNER\n"
      "Content-Type: text/html\n"
      "\n"
      "<b>HTML version</b>\n"
      "--INNER--\n"
      "--OUTER\n"
      "Content-Type: image/gif\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "R0lGODlhAQABAAAAACw=\n"
      "--OUTER\n"
      "Content-Type: text/html; charset=iso-8859-1\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "<p>Second=20part with =E9</p>\n"
      "--OUTER--\n"
      "epilogue\n";
  const EmailText e = parse_email(msg);
  CHECK(e.subject == "Caf\xc3\xa9 offer for you");
  CHECK_THAT(e.body, Contains("Plain version"));
  CHECK_THAT(e.body, Contains("Second part with \xc3\xa9"));
  CHECK_THAT(e.body, !Contains("HTML version") && !Contains("R0lG") && !Contains("preamble") && !Contains("epilogue"));

  const EmailText plain = parse_email("Subject: hi\r\nX-Spam: yes\r\n\r\nbody line\r\n");
  CHECK(plain.subject == "hi");
  CHECK_THAT(plain.body, Contains("body line") && !Contains("X-Spam"));
  CHECK(parse_email("").subject.empty());
}

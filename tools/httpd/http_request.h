// The HTTP/1.x request parser of tools/httpd: bytes in, a request (or the
// status to answer with) out. No I/O and no io_uring here, so a fuzz target
// (tests/fuzz/http_request_fuzz.cc) can drive it with any bytes.
//
//   http::Parsed p = http::parse_request(std::string_view(buf, got), 8192);
//   if (p.outcome == http::Outcome::incomplete) { /* receive more, parse again */ }
//
// Stateless: the caller keeps the bytes of the request head and parses them
// again, from the start, each time more arrive. A verdict depends only on
// the head (the bytes up to and including the first empty line) or, when no
// head ends within `max_head` bytes, on those first `max_head` bytes, so
// feeding the bytes in any pieces gives the answer all of them give at once.
//
// What it accepts (RFC 9112, strictly):
//   request line   METHOD SP /origin-form SP HTTP/1.0|HTTP/1.1 CRLF
//   header fields  name ":" OWS value OWS CRLF   (no obs-fold, no space before ':')
//   end            CRLF
// Every line ends with CRLF: a bare LF (RFC 9112 lets a parser take one as a
// line end; this one does not) before the head's end is a 400 as soon as it
// arrives, even when no head has ended yet, so such a client is answered
// at once instead of waiting for a CRLFCRLF that never comes.
// What it answers otherwise (outcome error, `status` the response code):
//   400  any syntax error; a version other than HTTP/1.0 and 1.1 (HTTP/2.0
//        included: the issue asks for 400); an unknown method; HTTP/1.1
//        without exactly one Host; a body (Content-Length other than 0, or
//        Transfer-Encoding: this server takes none); a target that is not a
//        path, or a bad %-escape, or one that decodes to NUL; a head longer
//        than `max_head` (431 in RFC 6585, 400 here as the issue asks), or a
//        bare LF before its end (these two with head_bytes 0: the head's
//        end is unknown)
//   405  a method HTTP defines that this server does not do (POST, PUT, ...)
//   403  a path that leaves the root once `.` and `..` are applied
// After a 400 or 405 the connection must close (the framing of what follows
// is unknown); after a 403 it may stay open if the request asked for that.
//
// The path: %-decoded first (so %2e%2e and %2f are the dots and slashes they
// spell), then split at '/', with empty and "." segments dropped and ".."
// removing the segment before it; one ".." too many is the 403. The result
// is relative to the root ("" for the root itself, "a/b.txt"): no leading
// '/', no empty, "." or ".." segment, no NUL. The kernel still has the last
// word (openat2 with RESOLVE_BENEATH in httpd.cc refuses symlinks that leave
// the root).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace http {

enum class Method { get, head };

enum class Outcome {
  incomplete,  // no verdict yet: receive more bytes and parse again
  request,     // a request to serve: `request` is filled in
  error,       // answer `status` (and close unless keep_alive)
};

struct Request {
  Method method = Method::get;
  std::string_view method_text;  // these three point into the parsed bytes
  std::string_view target;       // as sent, e.g. "/a%20b.txt?x=1"
  std::string_view version;      // "HTTP/1.0" or "HTTP/1.1"
  int minor_version = 1;
  std::string path;              // decoded and normalised, relative to the root
  bool keep_alive = true;        // what the request asks for the connection
};

struct Parsed {
  Outcome outcome = Outcome::incomplete;
  int status = 0;            // 200 for a request, else the error response's code
  std::size_t head_bytes = 0;  // bytes of the head (request and error verdicts on a whole head)
  bool keep_alive = false;   // the connection may serve another request afterwards
  Request request;           // request (and the parts known of a 403)
};

namespace detail {

inline bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// A field value's characters: VCHAR, SP, HTAB, obs-text.
inline bool is_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Characters RFC 3986 allows in a path (pchar and '/'), '%' checked apart.
inline bool is_path_char(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '!': case '$': case '&': case '\'': case '(':
    case ')': case '*': case '+': case ',': case ';': case '=': case ':': case '@': case '/':
      return true;
    default:
      return false;
  }
}

enum class PathVerdict { ok, bad, escapes };

// "/a/./b/../c%2Ed" -> "a/c.d". The query (from '?') is ignored.
inline PathVerdict normalise_path(std::string_view target, std::string* out) {
  out->clear();
  if (target.empty() || target[0] != '/') return PathVerdict::bad;  // origin-form only
  if (std::size_t q = target.find('?'); q != std::string_view::npos) {
    for (std::size_t i = q + 1; i < target.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(target[i]);
      if (!is_path_char(c) && c != '?' && c != '%') return PathVerdict::bad;
    }
    target = target.substr(0, q);
  }
  std::string decoded;
  decoded.reserve(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(target[i]);
    if (c == '%') {
      if (i + 2 >= target.size()) return PathVerdict::bad;  // "%" or "%x" at the end
      const int high = hex_value(target[i + 1]);
      const int low = hex_value(target[i + 2]);
      if (high < 0 || low < 0) return PathVerdict::bad;
      const char byte = static_cast<char>(high * 16 + low);
      if (byte == '\0') return PathVerdict::bad;
      decoded.push_back(byte);
      i += 2;
    } else if (is_path_char(c)) {
      decoded.push_back(static_cast<char>(c));
    } else {
      return PathVerdict::bad;
    }
  }
  // Apply the segments; `out` holds "seg/seg/seg" so far.
  std::size_t start = 0;
  while (start <= decoded.size()) {
    std::size_t end = decoded.find('/', start);
    if (end == std::string::npos) end = decoded.size();
    const std::string_view segment(decoded.data() + start, end - start);
    if (segment.empty() || segment == ".") {
      // nothing
    } else if (segment == "..") {
      if (out->empty()) return PathVerdict::escapes;
      const std::size_t slash = out->rfind('/');
      out->resize(slash == std::string::npos ? 0 : slash);
    } else {
      if (!out->empty()) out->push_back('/');
      out->append(segment);
    }
    start = end + 1;
  }
  return PathVerdict::ok;
}

inline Parsed fail(int status, std::size_t head_bytes) {
  Parsed p;
  p.outcome = Outcome::error;
  p.status = status;
  p.head_bytes = head_bytes;
  p.keep_alive = false;
  return p;
}

}  // namespace detail

// Methods RFC 9110 defines besides GET and HEAD: answered with 405.
inline bool is_other_known_method(std::string_view m) {
  return m == "POST" || m == "PUT" || m == "DELETE" || m == "PATCH" || m == "OPTIONS" || m == "TRACE" ||
         m == "CONNECT";
}

// Parses the request at the start of `input`. `max_head` (at least 4) caps
// the head, request line and fields and the empty line included.
inline Parsed parse_request(std::string_view input, std::size_t max_head) {
  using namespace detail;
  // 1. Find the end of the head within the first max_head bytes.
  const std::string_view window = input.substr(0, max_head < input.size() ? max_head : input.size());
  const std::size_t end = window.find("\r\n\r\n");
  const std::size_t scanned = end == std::string_view::npos ? window.size() : end;
  for (std::size_t lf = window.find('\n'); lf < scanned; lf = window.find('\n', lf + 1)) {
    if (lf == 0 || window[lf - 1] != '\r') return fail(400, 0);  // a bare LF
  }
  if (end == std::string_view::npos) {
    if (input.size() >= max_head) return fail(400, 0);  // too long: it can never fit
    return Parsed{};                                     // incomplete
  }
  const std::size_t head_bytes = end + 4;
  const std::string_view head = input.substr(0, end + 2);  // every line with its CRLF

  // 2. The request line.
  const std::size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return fail(400, head_bytes);
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return fail(400, head_bytes);
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  for (char c : method) {
    if (!is_tchar(static_cast<unsigned char>(c))) return fail(400, head_bytes);
  }
  for (char c : target) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return fail(400, head_bytes);
  }
  int minor = -1;
  if (version == "HTTP/1.1") minor = 1;
  if (version == "HTTP/1.0") minor = 0;
  if (minor < 0) return fail(400, head_bytes);

  Parsed p;
  p.head_bytes = head_bytes;
  p.request.method_text = method;
  p.request.target = target;
  p.request.version = version;
  p.request.minor_version = minor;
  if (method == "GET") {
    p.request.method = Method::get;
  } else if (method == "HEAD") {
    p.request.method = Method::head;
  } else {
    return fail(is_other_known_method(method) ? 405 : 400, head_bytes);
  }

  // 3. The header fields.
  int hosts = 0;
  bool close = false, keep_alive = false;
  std::size_t at = line_end + 2;
  while (at < head.size()) {
    const std::size_t eol = head.find("\r\n", at);
    const std::string_view field = head.substr(at, eol - at);
    at = eol + 2;
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(400, head_bytes);
    const std::string_view name = field.substr(0, colon);
    for (char c : name) {
      if (!is_tchar(static_cast<unsigned char>(c))) return fail(400, head_bytes);  // also obs-fold, "Name :"
    }
    const std::string_view raw_value = field.substr(colon + 1);
    for (char c : raw_value) {
      if (!is_value_char(static_cast<unsigned char>(c))) return fail(400, head_bytes);  // a bare CR, NUL, ...
    }
    const std::string_view value = trim(raw_value);
    if (iequals(name, "Host")) {
      ++hosts;
    } else if (iequals(name, "Content-Length")) {
      if (value != "0") return fail(400, head_bytes);
    } else if (iequals(name, "Transfer-Encoding")) {
      return fail(400, head_bytes);
    } else if (iequals(name, "Connection")) {
      std::string_view rest = value;
      while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string_view option = trim(rest.substr(0, comma));
        if (iequals(option, "close")) close = true;
        if (iequals(option, "keep-alive")) keep_alive = true;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
  }
  if (minor == 1 ? hosts != 1 : hosts > 1) return fail(400, head_bytes);
  p.request.keep_alive = !close && (minor == 1 || keep_alive);

  // 4. The path.
  switch (normalise_path(target, &p.request.path)) {
    case PathVerdict::bad:
      return fail(400, head_bytes);
    case PathVerdict::escapes:
      p.outcome = Outcome::error;
      p.status = 403;
      p.keep_alive = p.request.keep_alive;
      p.request.path.clear();
      return p;
    case PathVerdict::ok:
      break;
  }
  p.outcome = Outcome::request;
  p.status = 200;
  p.keep_alive = p.request.keep_alive;
  return p;
}

}  // namespace http

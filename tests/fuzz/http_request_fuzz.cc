// Fuzz target: http::parse_request (tools/httpd/http_request.h), the parser
// of the request bytes tools/httpd receives from anyone who connects.
//
// Input: byte 0 picks the head cap (8192 when its top bit is set, else
// 4..512 so the cap is reached often), byte 1 the sizes of the pieces the
// incremental feeding uses; the rest are the bytes a client sent. They are
// parsed from a heap block of exactly their size (ASan sees any read past
// it). Oracle:
//   * a verdict is one of: incomplete (only when no head ends in the bytes,
//     they are shorter than the cap and hold no bare LF), a request (status 200; method,
//     target and version are substrings of the head; the head ends with the
//     first CRLFCRLF, within the cap; the path is relative, without empty,
//     "." or ".." segments or NUL: it cannot leave the root), or an error
//     with status 400, 403 or 405 (only a 403 may keep the connection; one
//     without a head's end, head_bytes 0, is a 400 for a head over the cap
//     or a bare LF before the first CRLFCRLF);
//   * fed in pieces (every prefix parsed again from its own exact-size
//     block, as httpd does on each receive), the first prefix with a verdict
//     gives exactly the verdict of all the bytes at once.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_support.h"
#include "tools/httpd/http_request.h"

namespace {

bool inside(std::string_view part, const char* data, std::size_t size) {
  return part.data() >= data && part.data() + part.size() <= data + size;
}

void check_path(const std::string& path) {
  if (path.empty()) return;
  FUZZ_CHECK(path.find('\0') == std::string::npos);
  FUZZ_CHECK(path.front() != '/');
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view segment(path.data() + start, end - start);
    FUZZ_CHECK(!segment.empty());
    FUZZ_CHECK(segment != ".");
    FUZZ_CHECK(segment != "..");
    start = end + 1;
  }
}

// Parses bytes [0, size) of `bytes` from a copy of exactly that size.
http::Parsed parse_copy(const std::uint8_t* bytes, std::size_t size, std::size_t max_head,
                        std::unique_ptr<char[]>* block) {
  block->reset(new char[size == 0 ? 1 : size]);
  if (size) std::memcpy(block->get(), bytes, size);
  return http::parse_request(std::string_view(block->get(), size), max_head);
}

// A '\n' not preceded by '\r' in bytes [0, end) of `s`.
bool bare_lf(std::string_view s, std::size_t end) {
  for (std::size_t i = 0; i < end && i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
  }
  return false;
}

void check_verdict(const http::Parsed& p, const char* data, std::size_t size, std::size_t max_head) {
  const std::string_view all(data, size);
  const std::string_view window = all.substr(0, std::min(size, max_head));
  const std::size_t first_end = window.find("\r\n\r\n");
  const bool lf_before_end = bare_lf(window, first_end == std::string_view::npos ? window.size() : first_end);
  switch (p.outcome) {
    case http::Outcome::incomplete:
      FUZZ_CHECK(size < max_head);
      FUZZ_CHECK(first_end == std::string_view::npos);
      FUZZ_CHECK(!lf_before_end);
      break;
    case http::Outcome::request:
      FUZZ_CHECK(p.status == 200);
      FUZZ_CHECK(!lf_before_end);
      FUZZ_CHECK(first_end != std::string_view::npos && p.head_bytes == first_end + 4);
      FUZZ_CHECK(p.head_bytes <= max_head && p.head_bytes <= size);
      FUZZ_CHECK(inside(p.request.method_text, data, p.head_bytes));
      FUZZ_CHECK(inside(p.request.target, data, p.head_bytes));
      FUZZ_CHECK(inside(p.request.version, data, p.head_bytes));
      FUZZ_CHECK(p.request.method_text == (p.request.method == http::Method::get ? "GET" : "HEAD"));
      FUZZ_CHECK(p.request.version == (p.request.minor_version == 1 ? "HTTP/1.1" : "HTTP/1.0"));
      FUZZ_CHECK(!p.request.target.empty() && p.request.target[0] == '/');
      FUZZ_CHECK(p.keep_alive == p.request.keep_alive);
      check_path(p.request.path);
      break;
    case http::Outcome::error:
      FUZZ_CHECK(p.status == 400 || p.status == 403 || p.status == 405);
      FUZZ_CHECK(!p.keep_alive || p.status == 403);
      if (p.head_bytes != 0) {
        FUZZ_CHECK(!lf_before_end);
        FUZZ_CHECK(first_end != std::string_view::npos && p.head_bytes == first_end + 4);
      } else {
        FUZZ_CHECK(p.status == 400);  // a bare LF, or the head did not end within the cap
        FUZZ_CHECK(lf_before_end || (size >= max_head && first_end == std::string_view::npos));
      }
      if (p.status == 403) check_path(p.request.path);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  uring_fuzz::Input input(data, size);
  const std::uint8_t cap_byte = input.u8();
  const std::uint8_t piece_byte = input.u8();
  const std::size_t max_head = (cap_byte & 0x80) ? 8192 : 4 + (cap_byte & 0x7f) * 4u;
  std::size_t n = 0;
  const std::uint8_t* bytes = input.rest(&n);
  if (n > 20000) n = 20000;  // a head is at most 8 KiB; more only repeats the same verdict

  std::unique_ptr<char[]> whole_block;
  const http::Parsed whole = parse_copy(bytes, n, max_head, &whole_block);
  check_verdict(whole, whole_block.get(), n, max_head);

  // The same bytes in pieces of 1..16 bytes (the pattern from piece_byte),
  // or all but the last piece in one go when the input is long.
  std::size_t fed = 0;
  unsigned step = 0;
  bool decided = false;
  while (fed < n) {
    std::size_t piece = 1 + ((piece_byte >> (step % 8)) & 0x0f) + (step % 3);
    if (n > 2048 && step == 0) piece = n - 1;
    ++step;
    fed = std::min(n, fed + piece);
    std::unique_ptr<char[]> block;
    const http::Parsed part = parse_copy(bytes, fed, max_head, &block);
    check_verdict(part, block.get(), fed, max_head);
    if (part.outcome == http::Outcome::incomplete) continue;
    // Compare as offsets: the views point into different blocks.
    FUZZ_CHECK(part.outcome == whole.outcome && part.status == whole.status &&
               part.head_bytes == whole.head_bytes && part.keep_alive == whole.keep_alive &&
               part.request.path == whole.request.path);
    if (whole.outcome == http::Outcome::request) {
      FUZZ_CHECK(part.request.method_text.data() - block.get() == whole.request.method_text.data() - whole_block.get());
      FUZZ_CHECK(part.request.target == whole.request.target);
      FUZZ_CHECK(part.request.keep_alive == whole.request.keep_alive);
    }
    decided = true;
    break;
  }
  FUZZ_CHECK(decided == (whole.outcome != http::Outcome::incomplete) || n == 0);
  return 0;
}

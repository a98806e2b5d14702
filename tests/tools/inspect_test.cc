// tools/inspect end to end: runs the binary with several sets of flags,
// parses every line it prints (no golden text) and checks every number:
//   * the layout against a ring this test sets up itself, with
//     io_uring_setup(2) and the same flags: sizes, masks, feature bits, every
//     sq_off/cq_off offset; the mappings against the offsets and the lines of
//     /proc/self/maps the tool printed;
//   * the trace against itself and the kernel's rules: each `change:` names
//     exactly the words that moved between two `state:` lines, with their old
//     and new values; the `sqe:` lines are the positions the SQ tail moved
//     over, the `cqe:` lines those the CQ tail moved over, each at slot
//     position & mask; every CQE answers one SQE (user_data); the NOPs
//     return 0, the linked READ and WRITE the bytes they moved (read back
//     the same), the TIMEOUT -ETIME no sooner than asked; a full SQ is all
//     sq_entries SQEs; the CQ overflow shows IORING_SQ_CQ_OVERFLOW with a full
//     CQ, then the kept CQEs flushed in order (over several enters when they
//     do not all fit at once); with --sqpoll the SQ thread's
//     NEED_WAKEUP and its wakeup;
//   * the command line: usage errors exit 2, refused setups exit 1 with the
//     library's own message, SIGINT stops it between steps with all reaped.
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "tests/tools/tool_runner.h"
#include "uring/uring.h"

using namespace uring;

namespace {

std::string inspect_path() { return tool_runner::tool_path("tools/inspect/inspect"); }

// One `KIND: key=value ...` line. For `change:`, `why` is the text after " | ".
struct Record {
  std::string kind;
  std::map<std::string, std::string> fields;
  std::string why;
  std::string line;

  bool has(const std::string& key) const { return fields.count(key) != 0; }
  const std::string& text(const std::string& key) const {
    auto it = fields.find(key);
    if (it == fields.end()) FAIL("no " << key << "= in: " << line);
    return it->second;
  }
  // A number: decimal, -decimal or 0xhex, up to the '(' of names that may follow.
  std::int64_t number(const std::string& key) const { return parse_number(text(key), line); }

  static std::int64_t parse_number(const std::string& value, const std::string& line) {
    const char* start = value.c_str();
    char* end = nullptr;
    const bool hex = value.rfind("0x", 0) == 0;
    const std::int64_t n =
        hex ? static_cast<std::int64_t>(std::strtoull(start + 2, &end, 16)) : std::strtoll(start, &end, 10);
    if (end == start || (*end != '\0' && *end != '(')) FAIL("not a number: '" << value << "' in: " << line);
    return n;
  }
};

// Every line of the output: empty, prose (two spaces first) or a record;
// anything else fails the test, so the format stays what inspect.cc says.
std::vector<Record> parse(const std::string& out) {
  std::vector<Record> records;
  std::size_t begin = 0;
  while (begin < out.size()) {
    std::size_t end = out.find('\n', begin);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(begin, end - begin);
    begin = end + 1;
    if (line.empty() || line.rfind("  ", 0) == 0) continue;
    const std::size_t colon = line.find(": ");
    REQUIRE_MESSAGE(colon != std::string::npos, "neither prose nor a record: " << line);
    Record record;
    record.line = line;
    record.kind = line.substr(0, colon);
    for (char c : record.kind) REQUIRE_MESSAGE((std::islower(static_cast<unsigned char>(c)) || c == '_'), line);
    std::string rest = line.substr(colon + 2);
    if (const std::size_t bar = rest.find(" | "); bar != std::string::npos) {
      record.why = rest.substr(bar + 3);
      rest = rest.substr(0, bar);
    }
    std::size_t at = 0;
    while (at < rest.size()) {
      if (rest[at] == ' ') {
        ++at;
        continue;
      }
      const std::size_t eq = rest.find('=', at);
      const std::size_t space = rest.find(' ', at);
      if (eq == std::string::npos || (space != std::string::npos && space < eq)) {
        // A bare word: only `change: none`.
        const std::string word = rest.substr(at, space == std::string::npos ? std::string::npos : space - at);
        REQUIRE_MESSAGE((record.kind == "change" && word == "none"), "bare word '" << word << "' in: " << line);
        record.fields["none"] = "";
        at = space == std::string::npos ? rest.size() : space;
        continue;
      }
      const std::string key = rest.substr(at, eq - at);
      std::string value;
      at = eq + 1;
      if (at < rest.size() && rest[at] == '"') {
        const std::size_t close = rest.find('"', at + 1);
        REQUIRE_MESSAGE(close != std::string::npos, "unclosed quote in: " << line);
        value = rest.substr(at + 1, close - at - 1);
        at = close + 1;
      } else {
        const std::size_t stop = rest.find(' ', at);
        value = rest.substr(at, stop == std::string::npos ? std::string::npos : stop - at);
        at = stop == std::string::npos ? rest.size() : stop;
      }
      REQUIRE_MESSAGE(record.fields.count(key) == 0, "key " << key << " twice in: " << line);
      record.fields[key] = value;
    }
    records.push_back(record);
  }
  return records;
}

std::vector<const Record*> of_kind(const std::vector<Record>& records, const std::string& kind) {
  std::vector<const Record*> found;
  for (const Record& r : records) {
    if (r.kind == kind) found.push_back(&r);
  }
  return found;
}

const Record& only(const std::vector<Record>& records, const std::string& kind, const std::string& key = "",
                   const std::string& value = "") {
  const Record* found = nullptr;
  for (const Record& r : records) {
    if (r.kind != kind || (!key.empty() && (!r.has(key) || r.text(key) != value))) continue;
    REQUIRE_MESSAGE(found == nullptr, "two " << kind << " " << key << "=" << value << " records");
    found = &r;
  }
  REQUIRE_MESSAGE(found != nullptr, "no " << kind << " " << key << "=" << value << " record");
  return *found;
}

// The flags of one run, as the tool's command line and as RingOptions.
struct Variant {
  std::vector<std::string> args;
  RingOptions options;
};

// What the kernel answers for these options, from a ring set up here.
abi::io_uring_params kernel_params(const RingOptions& options) {
  abi::io_uring_params p{};
  // NO_MMAP changes no offset; without it the kernel needs no memory from us.
  p.flags = options.setup_flags() & ~abi::IORING_SETUP_NO_MMAP;
  p.cq_entries = options.cq_entries;
  p.sq_thread_idle = options.sqpoll_idle_ms;
  const int fd = sys::io_uring_setup(options.entries, &p);
  REQUIRE_MESSAGE(fd >= 0, "io_uring_setup: " << fd);
  ::close(fd);
  p.flags = options.setup_flags();
  return p;
}

std::uint64_t page_round(std::uint64_t bytes) {
  const std::uint64_t page = static_cast<std::uint64_t>(::getpagesize());
  return (bytes + page - 1) / page * page;
}

void check_layout(const std::vector<Record>& records, const RingOptions& options) {
  const abi::io_uring_params p = kernel_params(options);
  const Record& ring = only(records, "ring");
  CHECK(ring.number("fd") >= 0);
  CHECK(ring.number("sq_entries") == p.sq_entries);
  CHECK(ring.number("cq_entries") == p.cq_entries);
  CHECK(ring.number("sq_mask") == p.sq_entries - 1);
  CHECK(ring.number("cq_mask") == p.cq_entries - 1);
  const std::int64_t sqe_bytes = options.sqe128 ? 128 : 64, cqe_bytes = options.cqe32 ? 32 : 16;
  CHECK(ring.number("sqe_bytes") == sqe_bytes);
  CHECK(ring.number("cqe_bytes") == cqe_bytes);
  CHECK(ring.number("sq_thread_idle") == p.sq_thread_idle);
  CHECK(only(records, "setup").number("flags") == p.flags);
  CHECK(only(records, "features").number("bits") == p.features);
  // The names are the bits': every set bit named, nothing else.
  std::string names;
  for (const abi::flag_info& f : abi::feature_flags) {
    if (p.features & f.bit) names += (names.empty() ? "" : "|") + std::string(f.name);
  }
  const std::string& bits = only(records, "features").text("bits");
  CHECK(bits.substr(bits.find('(')) == "(" + names + ")");

  const Record& sq = only(records, "sq_off");
  CHECK(sq.number("head") == p.sq_off.head);
  CHECK(sq.number("tail") == p.sq_off.tail);
  CHECK(sq.number("ring_mask") == p.sq_off.ring_mask);
  CHECK(sq.number("ring_entries") == p.sq_off.ring_entries);
  CHECK(sq.number("flags") == p.sq_off.flags);
  CHECK(sq.number("dropped") == p.sq_off.dropped);
  CHECK(sq.number("array") == p.sq_off.array);
  CHECK(sq.number("resv1") == p.sq_off.resv1);
  const Record& cq = only(records, "cq_off");
  CHECK(cq.number("head") == p.cq_off.head);
  CHECK(cq.number("tail") == p.cq_off.tail);
  CHECK(cq.number("ring_mask") == p.cq_off.ring_mask);
  CHECK(cq.number("ring_entries") == p.cq_off.ring_entries);
  CHECK(cq.number("overflow") == p.cq_off.overflow);
  CHECK(cq.number("cqes") == p.cq_off.cqes);
  CHECK(cq.number("flags") == p.cq_off.flags);
  CHECK(cq.number("resv1") == p.cq_off.resv1);

  // Every word must lie inside the memory that holds it.
  const std::uint64_t sq_words_end = options.no_sqarray ? p.sq_off.dropped + 4 : p.sq_off.array + 4ull * p.sq_entries;
  const std::uint64_t cq_words_end = p.cq_off.cqes + static_cast<std::uint64_t>(cqe_bytes) * p.cq_entries;
  const Record& sqes = only(records, "mmap", "region", "sqes");
  CHECK(sqes.number("bytes") == sqe_bytes * p.sq_entries);
  if (options.no_mmap) {
    const Record& rings = only(records, "mmap", "region", "rings");
    CHECK(rings.text("pgoff") == "none");
    CHECK(sqes.text("pgoff") == "none");
    CHECK(cq.number("user_addr") == rings.number("addr"));  // the kernel uses our memory, where we said
    CHECK(sq.number("user_addr") == sqes.number("addr"));
    CHECK(static_cast<std::uint64_t>(rings.number("bytes")) >= std::max(sq_words_end, cq_words_end));
    for (const char* region : {"rings", "sqes"}) {
      const Record& maps = only(records, "maps", "region", region);
      const Record& mapped = only(records, "mmap", "region", region);
      CHECK(maps.number("start") <= mapped.number("addr"));
      CHECK(mapped.number("addr") + mapped.number("bytes") <= maps.number("end"));
    }
    return;
  }
  CHECK(sq.number("user_addr") == 0);
  CHECK(cq.number("user_addr") == 0);
  const Record& sq_ring = only(records, "mmap", "region", "sq_ring");
  const Record& cq_ring = only(records, "mmap", "region", "cq_ring");
  CHECK(sq_ring.number("pgoff") == static_cast<std::int64_t>(abi::IORING_OFF_SQ_RING));
  CHECK(sqes.number("pgoff") == static_cast<std::int64_t>(abi::IORING_OFF_SQES));
  CHECK(static_cast<std::uint64_t>(sq_ring.number("bytes")) >= sq_words_end);
  if (p.features & abi::IORING_FEAT_SINGLE_MMAP) {
    CHECK(cq_ring.text("same_as") == "sq_ring");
    CHECK(cq_ring.number("addr") == sq_ring.number("addr"));
    CHECK(static_cast<std::uint64_t>(sq_ring.number("bytes")) >= cq_words_end);
  } else {
    CHECK(cq_ring.number("pgoff") == static_cast<std::int64_t>(abi::IORING_OFF_CQ_RING));
    CHECK(static_cast<std::uint64_t>(cq_ring.number("bytes")) >= cq_words_end);
  }
  // The kernel's account of the same mappings: one each, at the address
  // mmap returned, from the ring's file at the offset that picked it.
  for (const Record* mapped : of_kind(records, "mmap")) {
    if (mapped->has("same_as")) continue;
    const Record& maps = only(records, "maps", "region", mapped->text("region"));
    CHECK(maps.number("start") == mapped->number("addr"));
    CHECK(maps.number("end") - maps.number("start") ==
          static_cast<std::int64_t>(page_round(static_cast<std::uint64_t>(mapped->number("bytes")))));
    CHECK(maps.number("pgoff") == mapped->number("pgoff"));
    CHECK(maps.text("perms") == "rw-s");
    CHECK(maps.text("path").find("io_uring") != std::string::npos);
  }
}

// The words of a `state:` line.
struct Words {
  std::map<std::string, std::uint32_t> w;
  static Words of(const Record& r) {
    Words words;
    for (const char* name : {"sq.local_tail", "sq.ktail", "sq.khead", "cq.ktail", "cq.khead", "sq_flags",
                             "cq.overflow", "sq.dropped"}) {
      words.w[name] = static_cast<std::uint32_t>(r.number(name));
    }
    REQUIRE_MESSAGE(r.fields.size() == words.w.size(), "unexpected words in: " << r.line);
    return words;
  }
  std::uint32_t operator[](const char* name) const { return w.at(name); }
};

void check_trace(const std::vector<Record>& records, const RingOptions& options) {
  const Record& ring = only(records, "ring");
  const std::uint32_t sq_entries = static_cast<std::uint32_t>(ring.number("sq_entries"));
  const std::uint32_t cq_entries = static_cast<std::uint32_t>(ring.number("cq_entries"));
  const std::uint32_t sq_mask = sq_entries - 1, cq_mask = cq_entries - 1;

  std::map<std::uint64_t, const Record*> sqes;   // user_data -> its SQE
  std::map<std::uint64_t, const Record*> cqes;   // user_data -> its CQE
  std::vector<std::uint64_t> cqe_order;          // user_data, as posted
  std::vector<std::pair<unsigned, Words>> states;  // (step, words)
  unsigned step = 0;
  std::string file_text;
  bool first_state = true;
  Words before;
  const Record* change = nullptr;
  std::uint32_t next_sq = 0, end_sq = 0, next_cq = 0, end_cq = 0;  // what sqe:/cqe: lines must cover now
  unsigned sqe_lines = 0, cqe_lines = 0;

  for (const Record& r : records) {
    if (r.kind == "step") {
      step = static_cast<unsigned>(r.number("n"));
      CHECK(next_sq == end_sq);
      CHECK(next_cq == end_cq);
    } else if (r.kind == "state") {
      CHECK(next_sq == end_sq);  // every SQE the last change published was printed
      CHECK(next_cq == end_cq);
      const Words now = Words::of(r);
      if (first_state) {
        for (const auto& [name, value] : now.w) {
          // (The SQ thread may have gone to sleep already while the layout was printed.)
          const std::uint32_t allowed = name == "sq_flags" && options.sqpoll ? abi::IORING_SQ_NEED_WAKEUP : 0;
          CHECK_MESSAGE((value & ~allowed) == 0, name << " of a new ring");
        }
        first_state = false;
      } else {
        REQUIRE_MESSAGE(change != nullptr, "a state without a change line before it: " << r.line);
        // The change line names exactly the words that moved, from and to.
        std::set<std::string> named;
        for (const auto& [key, value] : change->fields) {
          if (key == "none") continue;
          named.insert(key);
          const std::size_t arrow = value.find("->");
          REQUIRE_MESSAGE(arrow != std::string::npos, change->line);
          CHECK_MESSAGE(Record::parse_number(value.substr(0, arrow), change->line) == before[key.c_str()],
                        change->line);
          CHECK_MESSAGE(Record::parse_number(value.substr(arrow + 2), change->line) == now[key.c_str()],
                        change->line);
        }
        for (const auto& [name, value] : now.w) {
          CHECK_MESSAGE(named.count(name) == (value != before.w.at(name) ? 1u : 0u), name << ": " << change->line);
        }
        CHECK_MESSAGE(change->has("none") == named.empty(), change->line);
        CHECK(!change->why.empty());
      }
      // What the kernel and the library promise at every moment.
      CHECK(now["sq.ktail"] - now["sq.khead"] <= sq_entries);
      CHECK(now["sq.local_tail"] - now["sq.khead"] <= sq_entries);
      CHECK(static_cast<std::int32_t>(now["sq.local_tail"] - now["sq.ktail"]) >= 0);
      CHECK(now["cq.ktail"] - now["cq.khead"] <= cq_entries);
      CHECK(now["cq.overflow"] == 0);  // FEAT_NODROP: nothing dropped
      CHECK(now["sq.dropped"] == 0);
      if (!options.sqpoll) CHECK((now["sq_flags"] & abi::IORING_SQ_NEED_WAKEUP) == 0);
      next_sq = before.w.empty() ? now["sq.ktail"] : before["sq.ktail"];
      end_sq = now["sq.ktail"];
      next_cq = before.w.empty() ? now["cq.ktail"] : before["cq.ktail"];
      end_cq = now["cq.ktail"];
      before = now;
      states.emplace_back(step, now);
      change = nullptr;
    } else if (r.kind == "change") {
      REQUIRE_MESSAGE(change == nullptr, "two change lines in a row: " << r.line);
      change = &r;
    } else if (r.kind == "sqe") {
      ++sqe_lines;
      REQUIRE_MESSAGE(next_sq != end_sq, "an SQE the SQ tail did not move over: " << r.line);
      CHECK(r.number("pos") == next_sq);
      CHECK(r.number("slot") == (next_sq & sq_mask));
      if (options.no_sqarray) {
        CHECK(r.text("array") == "none");
      } else {
        CHECK(r.number("array") == (next_sq & sq_mask));  // uring's identity map, written once
      }
      ++next_sq;
      const std::uint64_t user_data = static_cast<std::uint64_t>(r.number("user_data"));
      CHECK_MESSAGE(user_data / 100000 == step, r.line);  // the tool's tag: step * 100000 + n
      CHECK_MESSAGE(sqes.count(user_data) == 0, "user_data twice: " << r.line);
      sqes[user_data] = &r;
    } else if (r.kind == "cqe") {
      ++cqe_lines;
      REQUIRE_MESSAGE(next_cq != end_cq, "a CQE the CQ tail did not move over: " << r.line);
      CHECK(r.number("pos") == next_cq);
      CHECK(r.number("slot") == (next_cq & cq_mask));
      ++next_cq;
      const std::uint64_t user_data = static_cast<std::uint64_t>(r.number("user_data"));
      CHECK_MESSAGE(sqes.count(user_data) == 1, "a CQE no SQE asked for: " << r.line);
      CHECK_MESSAGE(cqes.count(user_data) == 0, "a second CQE: " << r.line);
      cqes[user_data] = &r;
      cqe_order.push_back(user_data);
      CHECK(r.number("flags") == 0);
      CHECK(r.has("extra0") == options.cqe32);
      if (options.cqe32) CHECK(r.number("extra0") == 0);
    } else if (r.kind == "file") {
      file_text = r.text("text");
      CHECK(r.number("bytes") == static_cast<std::int64_t>(file_text.size()));
    } else if (r.kind == "skip") {
      const unsigned n = static_cast<unsigned>(r.number("step"));
      std::string missing;
      if (n == 2 && sq_entries >= 2) {
        missing = testing::missing_op(abi::IORING_OP_READ) + testing::missing_op(abi::IORING_OP_WRITE);
      }
      if (n == 2 && sq_entries < 2) missing = "a link needs two SQ entries";
      if (n == 3) missing = testing::missing_op(abi::IORING_OP_TIMEOUT);
      if (n == 5) missing = testing::missing_feature(abi::IORING_FEAT_NODROP);
      CHECK_MESSAGE(!missing.empty(), "skipped, but this kernel has what it needs: " << r.line);
    }
  }
  CHECK(change == nullptr);
  REQUIRE(!states.empty());

  // Every SQE answered by exactly one CQE.
  CHECK(cqes.size() == sqes.size());
  const Record& totals = only(records, "totals");
  CHECK(totals.number("sqes") == sqe_lines);
  CHECK(totals.number("cqes") == cqe_lines);
  CHECK(totals.number("sqes") == states.back().second["sq.khead"]);
  CHECK(totals.number("cqes") == states.back().second["cq.khead"]);

  auto cqe_of = [&](std::uint64_t user_data) -> const Record& {
    REQUIRE_MESSAGE(cqes.count(user_data) == 1, "no CQE for " << user_data);
    return *cqes.at(user_data);
  };
  auto sqe_of = [&](std::uint64_t user_data) -> const Record& {
    REQUIRE_MESSAGE(sqes.count(user_data) == 1, "no SQE " << user_data);
    return *sqes.at(user_data);
  };

  // Step 1: three NOPs (or as many as the SQ holds), each 0.
  for (std::uint64_t ud = 100001; ud <= 100000 + std::min(3u, sq_entries); ++ud) {
    CHECK(sqe_of(ud).text("opcode") == "NOP");
    CHECK(cqe_of(ud).number("res") == 0);
  }
  // Step 2: READ linked to a WRITE of the same buffer; both move every byte.
  if (sq_entries >= 2 && testing::missing_op(abi::IORING_OP_READ).empty() &&
      testing::missing_op(abi::IORING_OP_WRITE).empty()) {
    const Record& read = sqe_of(200001);
    const Record& write = sqe_of(200002);
    CHECK(read.text("opcode") == "READ");
    CHECK((read.number("flags") & abi::IOSQE_IO_LINK) != 0);
    CHECK(read.number("off") == 0);
    CHECK(write.text("opcode") == "WRITE");
    CHECK((write.number("flags") & abi::IOSQE_IO_LINK) == 0);
    CHECK(write.number("addr") == read.number("addr"));
    CHECK(write.number("fd") == read.number("fd"));
    const std::int64_t len = static_cast<std::int64_t>(file_text.size());
    CHECK(len > 0);
    CHECK(read.number("len") == len);
    CHECK(write.number("len") == len);
    CHECK(cqe_of(200001).number("res") == len);
    CHECK(cqe_of(200002).number("res") == len);
    CHECK(cqe_of(200001).number("pos") < cqe_of(200002).number("pos"));  // the link: the READ finished first
    const Record& check = only(records, "check", "step", "2");
    CHECK(check.number("offset") == write.number("off"));
    CHECK(check.number("bytes") == len);
    CHECK(check.text("read_back") == file_text);
    CHECK(check.text("same") == "yes");
  }
  // Step 3: a 10 ms TIMEOUT ends with -ETIME, not before 10 ms.
  if (testing::missing_op(abi::IORING_OP_TIMEOUT).empty()) {
    CHECK(sqe_of(300001).text("opcode") == "TIMEOUT");
    CHECK(sqe_of(300001).number("len") == 1);
    CHECK(cqe_of(300001).number("res") == -ETIME);
    const Record& check = only(records, "check", "step", "3");
    CHECK(check.number("timeout_ms") == 10);
    CHECK(std::strtod(check.text("elapsed_ms").c_str(), nullptr) >= 10.0);
  }
  // Step 4: the SQ takes exactly sq_entries before get_sqe says it is full.
  {
    const Record& check = only(records, "check", "step", "4");
    CHECK(check.number("handed_out") == sq_entries);
    CHECK(check.number("sq_entries") == sq_entries);
    CHECK(check.number("sq_space_left") == 0);
    CHECK(check.text("get_sqe") == "nullptr");
    bool full_seen = false;
    for (const auto& [s, words] : states) {
      if (s == 4 && words["sq.local_tail"] - words["sq.khead"] == sq_entries) full_seen = true;
    }
    CHECK(full_seen);
    for (std::uint64_t n = 1; n <= sq_entries; ++n) CHECK(cqe_of(400000 + n).number("res") == 0);
  }
  // Step 5: the CQ overflows; the flag is up while the CQ is full; the kept
  // CQEs come out after the flush; every CQE of the step in order.
  if (testing::missing_feature(abi::IORING_FEAT_NODROP).empty()) {
    const Record& check = only(records, "check", "step", "5");
    const std::int64_t kept = check.number("kept");
    CHECK(check.number("submitted") == cq_entries + 2);
    CHECK(check.number("posted") == cq_entries);
    CHECK(kept == 2);
    CHECK(check.text("cq_overflow_flag") == "yes");
    bool overflow_seen = false, flushed = false;
    std::uint32_t tail_at_overflow = 0;
    for (const auto& [s, words] : states) {
      if (s != 5) continue;
      const bool flag = (words["sq_flags"] & abi::IORING_SQ_CQ_OVERFLOW) != 0;
      if (flag && !overflow_seen) {
        CHECK(words["cq.ktail"] - words["cq.khead"] == cq_entries);  // set only with the CQ full
        overflow_seen = true;
        tail_at_overflow = words["cq.ktail"];
      }
      if (overflow_seen && !flag && !flushed) {
        CHECK(words["cq.ktail"] - tail_at_overflow == kept);  // what the kernel kept, and no more
        flushed = true;
      }
    }
    CHECK(overflow_seen);
    CHECK(flushed);
    std::vector<std::uint64_t> order;
    for (std::uint64_t ud : cqe_order) {
      if (ud / 100000 == 5) order.push_back(ud);
    }
    REQUIRE(order.size() == cq_entries + 2);
    for (std::size_t i = 0; i < order.size(); ++i) CHECK(order[i] == 500001 + i);
  }
  // Step 6 (SQPOLL): the SQ thread sleeps after its idle time; the SQE
  // published then waits until IORING_ENTER_SQ_WAKEUP (unless the thread saw
  // it just before it slept); then it completes.
  bool step6 = false;
  for (const Record* c : of_kind(records, "check")) step6 = step6 || c->text("step") == "6";
  CHECK(step6 == options.sqpoll);
  if (options.sqpoll) {
    std::vector<Words> six;
    for (const auto& [s, words] : states) {
      if (s == 6) six.push_back(words);
    }
    REQUIRE(six.size() == 6);  // asleep, published, 20 ms later, woken, waited, reaped
    CHECK((six[0]["sq_flags"] & abi::IORING_SQ_NEED_WAKEUP) != 0);
    CHECK(six[1]["sq.ktail"] == six[0]["sq.ktail"] + 1);
    if (six[2]["sq.khead"] != six[2]["sq.ktail"]) {
      CHECK((six[2]["sq_flags"] & abi::IORING_SQ_NEED_WAKEUP) != 0);  // asleep: nobody read it
      CHECK(six[2]["sq.khead"] == six[0]["sq.khead"]);
    }
    CHECK(six[3]["sq.khead"] == six[3]["sq.ktail"]);
    CHECK(cqe_of(600001).number("res") == 0);
  }
}

tool_runner::Result run(const std::vector<std::string>& args) {
  tool_runner::Result result = tool_runner::run(inspect_path(), args, "", 30);
  REQUIRE_MESSAGE(result.exited, "inspect did not exit: " << result.err);
  return result;
}

void check_variant(const Variant& v) {
  URING_REQUIRE(testing::missing_setup_flags(v.options.setup_flags()));
  std::string command = "inspect";
  for (const std::string& arg : v.args) command += " " + arg;
  INFO(command);
  {
    tool_runner::Result layout = run(v.args);
    REQUIRE_MESSAGE(layout.exit_code == 0, layout.err);
    CHECK(layout.err.empty());
    const std::vector<Record> plain = parse(layout.out);
    check_layout(plain, v.options);
    CHECK(of_kind(plain, "state").empty());

    std::vector<std::string> args = v.args;
    args.push_back("--trace");
    tool_runner::Result traced = run(args);
    REQUIRE_MESSAGE(traced.exit_code == 0, traced.err);
    CHECK(traced.err.empty());
    const std::vector<Record> records = parse(traced.out);
    check_layout(records, v.options);
    check_trace(records, v.options);
  }
}

}  // namespace

TEST_CASE("inspect: --help, a bad flag (usage, exit 2), a refused setup (the library's message, exit 1)") {
  tool_runner::Result help = run({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.rfind("usage: inspect", 0) == 0);

  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--bogus"}, {"--entries"}, {"--entries", "many"}, {"--sqpoll-idle", "5"}, {"extra"}}) {
    tool_runner::Result r = run(bad);
    CHECK_MESSAGE(r.exit_code == 2, bad[0]);
    CHECK(r.err.find("usage: inspect") != std::string::npos);
    CHECK(r.out.empty());
  }

  struct Refused {
    std::vector<std::string> args;
    RingOptions options;
  };
  RingOptions too_big;
  too_big.entries = 100000;
  RingOptions sqpoll_defer;
  sqpoll_defer.sqpoll = true;
  sqpoll_defer.sqpoll_idle_ms = 10;
  sqpoll_defer.single_issuer = sqpoll_defer.defer_taskrun = true;
  RingOptions small_cq;
  small_cq.entries = 8;
  small_cq.cq_entries = 4;
  for (const Refused& refused : {Refused{{"--entries", "100000"}, too_big},
                                 Refused{{"--sqpoll", "--defer-taskrun"}, sqpoll_defer},
                                 Refused{{"--entries", "8", "--cq-entries", "4"}, small_cq}}) {
    auto ring = Ring::create(refused.options);
    REQUIRE(!ring.ok());
    tool_runner::Result r = run(refused.args);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "inspect: " + ring.error().message + "\n");
  }
}

TEST_CASE("inspect: SIGINT stops the script between steps: everything reaped, totals, exit 130") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL));
  // With a 5 s idle the SQ thread does not sleep within step 6's 2 s poll:
  // the signal (from coreutils' timeout, after 0.5 s) arrives during it.
  tool_runner::Result r = tool_runner::run(
      "/usr/bin/timeout",
      {"--preserve-status", "-s", "INT", "0.5", inspect_path(), "--trace", "--sqpoll", "--sqpoll-idle", "5000"}, "",
      30);
  REQUIRE(r.exited);
  CHECK(r.exit_code == 128 + SIGINT);
  const std::vector<Record> records = parse(r.out);
  CHECK(only(records, "stopped").text("signal") == "INT");
  CHECK(of_kind(records, "skip").empty());  // stopped, not given up
  const Record& totals = only(records, "totals");
  CHECK(totals.number("sqes") > 0);
  CHECK(totals.number("sqes") == totals.number("cqes"));
  CHECK(totals.number("sqes") == static_cast<std::int64_t>(of_kind(records, "sqe").size()));
  CHECK(totals.number("cqes") == static_cast<std::int64_t>(of_kind(records, "cqe").size()));
  CHECK(only(records, "step", "n", "6").number("n") == 6);  // it had got there
}

TEST_CASE("inspect: a default ring") { check_variant({{}, RingOptions{.entries = 8}}); }

TEST_CASE("inspect: --entries 4 --cq-entries 16") {
  check_variant({{"--entries", "4", "--cq-entries", "16"}, RingOptions{.entries = 4, .cq_entries = 16}});
}

TEST_CASE("inspect: --entries 1 --cq-entries 1 (no room for a link; the overflow list drains one CQE per enter)") {
  check_variant({{"--entries", "1", "--cq-entries", "1"}, RingOptions{.entries = 1, .cq_entries = 1}});
}

TEST_CASE("inspect: --cqe32 --sqe128") {
  check_variant({{"--cqe32", "--sqe128"}, RingOptions{.entries = 8, .sqe128 = true, .cqe32 = true}});
}

TEST_CASE("inspect: --no-sqarray") {
  check_variant({{"--no-sqarray"}, RingOptions{.entries = 8, .no_sqarray = true}});
}

TEST_CASE("inspect: --coop-taskrun") {
  check_variant({{"--coop-taskrun"}, RingOptions{.entries = 8, .coop_taskrun = true}});
}

TEST_CASE("inspect: --defer-taskrun (with single issuer)") {
  check_variant({{"--defer-taskrun"}, RingOptions{.entries = 8, .single_issuer = true, .defer_taskrun = true}});
}

TEST_CASE("inspect: --no-mmap") { check_variant({{"--no-mmap"}, RingOptions{.entries = 8, .no_mmap = true}}); }

TEST_CASE("inspect: --sqpoll --sqpoll-idle 10") {
  check_variant({{"--sqpoll", "--sqpoll-idle", "10"}, RingOptions{.entries = 8, .sqpoll = true, .sqpoll_idle_ms = 10}});
}

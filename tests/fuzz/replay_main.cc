// main() for a fuzz target built without libFuzzer: runs
// LLVMFuzzerTestOneInput once on every file of the directories (or files)
// named on the command line, in name order, and prints doctest-format summary
// lines (each input is a test case; none is skipped) for .ci's counter. An
// oracle failure aborts inside the target after "replaying <file>" names the
// input; a missing or empty corpus fails.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool read_file(const std::string& path, std::vector<std::uint8_t>* out) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return false;
  out->clear();
  std::uint8_t chunk[4096];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) out->insert(out->end(), chunk, chunk + n);
  const bool ok = !std::ferror(file);
  std::fclose(file);
  return ok;
}

void collect(const std::string& path, std::vector<std::string>* files) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    files->push_back(path);
    return;
  }
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return;
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.push_back(path + "/" + name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) collect(name, files);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::size_t before = files.size();
    collect(argv[i], &files);
    if (files.size() == before) std::printf("no corpus files at %s\n", argv[i]);
  }
  unsigned passed = 0;
  unsigned failed = 0;
  std::vector<std::uint8_t> input;
  for (const std::string& file : files) {
    if (!read_file(file, &input)) {
      std::printf("FAIL cannot read %s\n", file.c_str());
      ++failed;
      continue;
    }
    std::fprintf(stderr, "replaying %s (%zu bytes)\n", file.c_str(), input.size());
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++passed;
  }
  const unsigned total = passed + failed;
  std::printf("%u corpus inputs replayed, %u failed\n", total, failed);
  std::printf("[doctest] test cases: %u | %u passed | %u failed | 0 skipped\n", total, passed, failed);
  std::printf("uring-skipped-test-cases: 0\n");
  return total > 0 && failed == 0 ? 0 : 1;
}

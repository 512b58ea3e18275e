// replay_main.cpp - runs a fuzz target over corpus files without libFuzzer,
// so that the corpora are regression tests under any compiler.
//
// Each argument is a file or a directory (walked recursively). Arguments that
// do not exist are skipped with a note; the run fails if no input at all was
// found, so that a misconfigured path cannot pass silently.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) {
        std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
        return false;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    // A private copy of exactly `size` bytes, so that ASan sees reads past the end.
    std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(input.empty() ? nullptr : input.data(), input.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    std::size_t ran = 0, failed = 0;
    for (int i = 1; i < argc; ++i) {
        const fs::path arg = argv[i];
        std::error_code ec;
        if (!fs::exists(arg, ec)) {
            std::fprintf(stderr, "replay: %s does not exist, skipped\n", argv[i]);
            continue;
        }
        if (fs::is_directory(arg, ec)) {
            std::vector<fs::path> files;
            for (const auto& ent : fs::recursive_directory_iterator(arg, ec))
                if (ent.is_regular_file()) files.push_back(ent.path());
            std::sort(files.begin(), files.end());
            for (const auto& p : files) (run_file(p) ? ran : failed)++;
        } else {
            (run_file(arg) ? ran : failed)++;
        }
    }
    std::printf("replay: %zu input(s) run\n", ran);
    if (failed) {
        std::fprintf(stderr, "replay: %zu input(s) could not be read\n", failed);
        return 1;
    }
    if (ran == 0) {
        std::fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    return 0;
}

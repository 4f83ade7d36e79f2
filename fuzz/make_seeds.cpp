// Usage: fuzz_make_seeds DIR — writes every malformed test file, plus a few valid ones, to DIR.
#include "support/safetensors_builder.hpp"

#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    using namespace ctq::test;
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    for (const MalformedCase& c : malformed_cases()) write_file(dir / (std::string("bad_") + c.name), c.bytes);
    write_file(dir / "ok_empty", safetensors_bytes("{}      "));
    write_file(dir / "ok_mixed",
               safetensors_bytes("{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "BF16", "[2,2]", 0, 8) + "," +
                                     entry("b", "F4", "[4]", 8, 10) + "," + entry("c", "F6_E3M2", "[4]", 10, 13) +
                                     "," + entry("d", "F32", "[0]", 13, 13) + "}   ",
                                 "0123456789abc"));
    return 0;
}

#include "plugins/registry.hpp"

#include <doctest/doctest.h>

TEST_CASE("example plugin loads and registers its layout") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(CTQ_BINARY_DIR "/test_plugins/ctq_example_plugin.so"));
    CHECK(reg.layout("example_bf16") != nullptr);
}

// Plugin discovery and loading: the SDK example, and each way a plugin can be broken.
#include "core/error.hpp"
#include "plugins/registry.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

namespace {
const std::string kFaulty = CTQ_BINARY_DIR "/faulty_plugins/";

std::string only_failure(const ctq::Registry& reg) {
    REQUIRE(reg.failures().size() == 1);
    return reg.failures()[0].reason;
}
}  // namespace

TEST_CASE("the SDK example plugin loads and registers its layout") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(CTQ_BINARY_DIR "/test_plugins/ctq_example_plugin.so"));
    const ctq_layout_desc* d = reg.layout("example_bf16");
    REQUIRE(d != nullptr);
    CHECK(std::string(d->family) == "example");
    CHECK(reg.layout_for("example", "tensor") == d);
    CHECK(reg.layout_for("example", "row") == nullptr);
    REQUIRE(reg.plugins().size() == 1);
    CHECK(reg.plugins()[0].name == "example");
    CHECK(reg.plugins()[0].layouts == std::vector<std::string>{"example_bf16"});
}

TEST_CASE("loading the same library twice registers it once") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(CTQ_BINARY_DIR "/test_plugins/ctq_example_plugin.so"));
    REQUIRE(reg.load_file(CTQ_BINARY_DIR "/test_plugins/ctq_example_plugin.so"));
    CHECK(reg.layouts().size() == 1);
    CHECK(reg.failures().empty());
}

TEST_CASE("a plugin for another ABI version is refused before its entry point runs") {
    ctq::Registry reg;
    CHECK_FALSE(reg.load_file(kFaulty + "ctq_bad_abi/ctq_bad_abi.so"));  // its entry aborts
    const std::string why = only_failure(reg);
    CHECK(why.find("ABI version " + std::to_string(CTQ_ABI_VERSION + 41)) != std::string::npos);
    CHECK(why.find("speaks version " + std::to_string(CTQ_ABI_VERSION)) != std::string::npos);
    CHECK(reg.failures()[0].file.filename() == "ctq_bad_abi.so");
}

TEST_CASE("a library without the entry symbol is reported and skipped") {
    ctq::Registry reg;
    CHECK_FALSE(reg.load_file(kFaulty + "ctq_no_entry/ctq_no_entry.so"));
    CHECK(only_failure(reg).find("missing symbol 'ctq_plugin_entry'") != std::string::npos);
}

TEST_CASE("a file that is not a shared library is reported and skipped") {
    ctq::Registry reg;
    CHECK_FALSE(reg.load_file(CTQ_SOURCE_DIR "/README.md"));
    CHECK(only_failure(reg).find("cannot load") != std::string::npos);
}

TEST_CASE("an entry point failing halfway leaves nothing registered") {
    ctq::Registry reg;
    CHECK_FALSE(reg.load_file(kFaulty + "ctq_failing_entry/ctq_failing_entry.so"));
    CHECK(only_failure(reg).find("deliberate failure after one registration") != std::string::npos);
    CHECK(reg.optimizer("half_registered") == nullptr);
    CHECK(reg.optimizers().empty());
    CHECK(reg.plugins().empty());
}

TEST_CASE("broken plugins do not stop the good ones in the same search path") {
    ctq::Registry reg;
    reg.load_dirs({kFaulty + "ctq_bad_abi", kFaulty + "ctq_no_entry", CTQ_BINARY_DIR "/test_plugins"});
    CHECK(reg.failures().size() == 2);
    CHECK(reg.layout("example_bf16") != nullptr);
}

TEST_CASE("CTQ_PLUGIN_PATH folders are searched before the default folder") {
    setenv("CTQ_PLUGIN_PATH", "/nonexistent-a:/nonexistent-b", 1);
    const auto dirs = ctq::Registry::default_dirs({"/from-flag"});
    unsetenv("CTQ_PLUGIN_PATH");
    REQUIRE(dirs.size() == 4);
    CHECK(dirs[0] == "/from-flag");
    CHECK(dirs[1] == "/nonexistent-a");
    CHECK(dirs[2] == "/nonexistent-b");
    CHECK(dirs[3].filename() == "plugins");
}

TEST_CASE("a preset from JSON is validated, replaces a plugin's preset, and file duplicates are refused") {
    ctq::Registry reg;
    REQUIRE(reg.load_file(CTQ_BINARY_DIR "/bin/plugins/ctq_models.so"));
    const size_t compiled = reg.presets().size();
    reg.add_preset_json(R"({"name": "mine", "help": "my model", "exclude": ["img_in"]})", "mine.json");
    CHECK(reg.preset("mine") != nullptr);
    CHECK(reg.presets().size() == compiled + 1);
    reg.add_preset_json(R"({"name": "t5xxl", "help": "my t5", "remove": ["decoder"]})", "t5.json");
    CHECK(reg.presets().size() == compiled + 1);
    CHECK(std::string(reg.preset("t5xxl")->help) == "my t5");
    CHECK_THROWS_WITH_AS(reg.add_preset_json(R"({"name": "mine"})", "again.json"),
                         doctest::Contains("already defined by another preset file"), ctq::CtqError);
    CHECK(std::string(reg.preset("mine")->help) == "my model");
    CHECK_THROWS_WITH_AS(reg.add_preset_json("{not json", "bad.json"), doctest::Contains("bad.json"), ctq::CtqError);
}

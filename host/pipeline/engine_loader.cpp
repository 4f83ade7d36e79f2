#include "pipeline/engine_loader.hpp"

#include "core/error.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <future>
#include <mutex>

namespace ctq {

const EngineApi& engine() {
    static std::once_flag once;
    static boost::dll::shared_library library;
    static const EngineApi* api = nullptr;
    static std::string failure;
    std::call_once(once, [] {
        std::error_code ec;
        const auto dir = boost::dll::program_location(ec).parent_path();
        const auto path = dir / "libctq_engine.so";
        library.load(path, boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local, ec);
        if (ec) {
            failure = path.string() + ": " + ec.message();
            return;
        }
        if (!library.has("ctq_engine_api")) {
            failure = path.string() + ": no symbol ctq_engine_api";
            return;
        }
        api = library.get<const EngineApi*()>("ctq_engine_api")();
    });
    if (!api)
        throw CtqError("learned rounding needs the engine library (LibTorch), which could not be loaded: " + failure +
                       " (round-to-nearest with --simple does not need it)");
    return *api;
}

namespace {
std::mutex background_mutex;
std::future<void> background;
}  // namespace

void start_engine_load() {
    std::lock_guard<std::mutex> lock(background_mutex);
    if (background.valid()) return;
    background = std::async(std::launch::async, [] {
        try {
            engine();
        } catch (const CtqError&) {  // reported where the engine is needed
        }
    });
}

void finish_engine_load() noexcept {
    std::lock_guard<std::mutex> lock(background_mutex);
    if (background.valid()) background.wait();
}

}  // namespace ctq

// Each slot is claimed (kFree -> kFilling) by compare-and-swap, filled, then published (kLive);
// a handler only touches kLive slots, whose path is complete and not changing.
#include "io/live_temporaries.hpp"

#include "io/safetensors_writer.hpp"

#include <atomic>
#include <climits>
#include <cstring>
#include <unistd.h>

namespace ctq {

namespace {

enum SlotState : int { kFree = 0, kFilling = 1, kLive = 2 };

std::atomic<int> g_state[kMaxLiveTemporaries];
char g_path[kMaxLiveTemporaries][PATH_MAX];

static_assert(std::atomic<int>::is_always_lock_free, "signal handlers need lock-free atomics");

}  // namespace

int remember_temporary(const char* absolute_path) noexcept {
    const size_t len = std::strlen(absolute_path);
    if (len >= PATH_MAX) return -1;
    for (size_t i = 0; i < kMaxLiveTemporaries; ++i) {
        int expected = kFree;
        if (!g_state[i].compare_exchange_strong(expected, kFilling)) continue;
        std::memcpy(g_path[i], absolute_path, len + 1);
        g_state[i].store(kLive);
        return static_cast<int>(i);
    }
    return -1;
}

void forget_temporary(int slot) noexcept {
    if (slot >= 0 && static_cast<size_t>(slot) < kMaxLiveTemporaries) g_state[slot].store(kFree);
}

void remove_live_temporaries() noexcept {
    for (size_t i = 0; i < kMaxLiveTemporaries; ++i)
        if (g_state[i].load() == kLive) ::unlink(g_path[i]);
}

}  // namespace ctq

// A process-wide list of temporary files still being written, kept in fixed static storage so a
// signal handler can walk it and unlink every entry without allocating or locking.
#pragma once

#include <cstddef>

namespace ctq {

inline constexpr size_t kMaxLiveTemporaries = 64;

// Records an absolute path; returns the slot (for forget_temporary), or -1 when the path is too
// long or every slot is taken.
int remember_temporary(const char* absolute_path) noexcept;
void forget_temporary(int slot) noexcept;

}  // namespace ctq

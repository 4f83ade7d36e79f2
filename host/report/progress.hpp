// Progress on stderr: a one-line bar (layers, bytes, rate, ETA) when stderr is a terminal,
// plain lines otherwise (logs, CI), never both.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ctq {

class Progress {
public:
    Progress(size_t total_items, uint64_t total_bytes, bool enabled, bool verbose);
    // One tensor finished: its input bytes and a short note ("fp8 tensor", "kept" ...).
    void item_done(const std::string& name, uint64_t input_bytes, const std::string& note);
    // A line that must not be overwritten by the bar (learned-rounding loss, warnings).
    void message(const std::string& line);
    void finish();
    double elapsed_seconds() const;

private:
    size_t total_items_, done_items_ = 0;
    uint64_t total_bytes_, done_bytes_ = 0;
    bool tty_, enabled_, verbose_, bar_shown_ = false;
    std::chrono::steady_clock::time_point start_, last_draw_;
    void draw();
    void clear_bar();
};


}  // namespace ctq

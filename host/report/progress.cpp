#include "report/progress.hpp"

#include "core/human_bytes.hpp"

#include <cstdio>
#include <unistd.h>

namespace ctq {

Progress::Progress(size_t total_items, uint64_t total_bytes, bool enabled, bool verbose)
    : total_items_(total_items), total_bytes_(total_bytes), tty_(isatty(STDERR_FILENO) == 1),
      enabled_(enabled), verbose_(verbose), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

double Progress::elapsed_seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::clear_bar() {
    if (bar_shown_) std::fprintf(stderr, "\r\033[K");
    bar_shown_ = false;
}

void Progress::draw() {
    const double t = elapsed_seconds();
    const double rate = t > 0 ? done_bytes_ / t : 0.0;
    const double eta = rate > 0 ? (total_bytes_ - done_bytes_) / rate : 0.0;
    const int width = 28;
    const double frac = total_bytes_ ? static_cast<double>(done_bytes_) / total_bytes_ : 1.0;
    std::string bar(static_cast<size_t>(frac * width), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r\033[K[%s] %zu/%zu tensors  %s/%s  %s/s  ETA %.0fs", bar.c_str(), done_items_,
                 total_items_, human_bytes(done_bytes_).c_str(), human_bytes(total_bytes_).c_str(),
                 human_bytes(rate).c_str(), eta);
    std::fflush(stderr);
    bar_shown_ = true;
}

void Progress::item_done(const std::string& name, uint64_t input_bytes, const std::string& note) {
    ++done_items_;
    done_bytes_ += input_bytes;
    if (!enabled_) return;
    if (tty_) {
        const auto now = std::chrono::steady_clock::now();
        if (verbose_) {
            clear_bar();
            std::fprintf(stderr, "  %s: %s\n", name.c_str(), note.c_str());
        }
        if (verbose_ || now - last_draw_ > std::chrono::milliseconds(100) || done_items_ == total_items_) {
            draw();
            last_draw_ = now;
        }
    } else if (verbose_ || note.rfind("keep", 0) != 0) {
        std::fprintf(stderr, "(%zu/%zu) %s: %s\n", done_items_, total_items_, name.c_str(), note.c_str());
    }
}

void Progress::message(const std::string& line) {
    if (!enabled_) return;
    clear_bar();
    std::fprintf(stderr, "%s\n", line.c_str());
    if (tty_) draw();
}

void Progress::finish() {
    if (tty_ && enabled_) {
        draw();
        std::fprintf(stderr, "\n");
        bar_shown_ = false;
    }
}

}  // namespace ctq

// The output appears only through rename(2) of a complete, fsynced temporary file in the same
// directory (same filesystem, so the rename is atomic); anything short of commit() unlinks it.
#include "io/safetensors_writer.hpp"

#include "core/error.hpp"
#include "io/live_temporaries.hpp"
#include "io/safetensors_header.hpp"

#include <ctq/dtype.hpp>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace ctq {

namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

uint64_t planned_bytes(const std::string& file, const OutputTensor& t) {
    const std::string shown = printable_name(t.name);
    if (t.name.empty() || t.name == "__metadata__" || shown != t.name)
        fail(file, shown, "invalid tensor name in the output plan");
    if (t.dtype < 0 || t.dtype >= CTQ_DTYPE_COUNT) fail(file, shown, "invalid dtype in the output plan");
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
        if (d < 0) fail(file, shown, "negative dimension in the output plan");
        if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel))
            fail(file, shown, "shape product overflows 64 bits");
    }
    const auto bytes = byte_size(t.dtype, numel);
    if (!bytes) fail(file, shown, std::string("element count is not a whole number of bytes of ") + dtype_name(t.dtype));
    return *bytes;
}

void refuse_same_file(const fs::path& output, const std::vector<fs::path>& inputs) {
    std::error_code ec;
    const fs::path out_canonical = fs::weakly_canonical(output, ec);
    for (const fs::path& in : inputs) {
        std::error_code ec_in;
        const bool same = fs::equivalent(output, in, ec_in) ||
                          (!ec && fs::weakly_canonical(in, ec_in) == out_canonical && !ec_in);
        if (same) fail(output.string(), "", "output is the same file as input '" + in.string() + "'");
    }
}

// Header bytes, padded with spaces so the data section starts 8-byte aligned.
std::string header_bytes(const std::string& file, const std::vector<OutputTensor>& tensors,
                         const std::vector<uint64_t>& sizes, const std::map<std::string, std::string>& metadata) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    if (!metadata.empty()) j["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        j[tensors[i].name] = {{"dtype", dtype_name(tensors[i].dtype)},
                              {"shape", tensors[i].shape},
                              {"data_offsets", {offset, offset + sizes[i]}}};
        offset += sizes[i];
    }
    std::string text;
    try {
        text = j.dump();
    } catch (const nlohmann::json::exception& e) {
        fail(file, "", std::string("cannot encode header (names and metadata must be UTF-8): ") + e.what());
    }
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xff);
    return out + text;
}

fs::path temporary_beside(const fs::path& output) {
    static std::mt19937_64 rng{std::random_device{}()};
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".ctq-tmp-%ld-%016llx", static_cast<long>(::getpid()),
                  static_cast<unsigned long long>(rng()));
    return fs::absolute(output).parent_path() / ("." + output.filename().string() + suffix);
}

}  // namespace

SafetensorsWriter::SafetensorsWriter(const fs::path& output, std::vector<OutputTensor> tensors,
                                     const std::map<std::string, std::string>& metadata,
                                     const std::vector<fs::path>& inputs)
    : output_(output), tensors_(std::move(tensors)) {
    const std::string file = output_.string();
    if (output_.filename().empty()) fail(file, "", "output path names no file");
    refuse_same_file(output_, inputs);
    // rename(2) would replace a device node (-o /dev/null as root) or fail only at the end.
    if (const auto st = fs::symlink_status(output_); fs::exists(st) && !fs::is_regular_file(st) && !fs::is_symlink(st))
        fail(file, "", "exists and is not a regular file (a folder, device or FIFO); refusing to replace it");
    std::set<std::string> names;
    for (const OutputTensor& t : tensors_) {
        if (!names.insert(t.name).second) fail(file, printable_name(t.name), "tensor planned twice");
        sizes_.push_back(planned_bytes(file, t));
    }
    const std::string header = header_bytes(file, tensors_, sizes_, metadata);

    for (int attempt = 0; fd_ < 0; ++attempt) {
        temp_ = temporary_beside(output_);
        fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0 && (errno != EEXIST || attempt == 8))
            fail(file, "", "cannot create temporary file '" + temp_.string() + "': " + errno_text());
    }
    live_slot_ = remember_temporary(temp_.c_str());
    try {
        if (live_slot_ < 0) fail(file, "", "too many output files open at once, or path too long");
        uint64_t total = header.size();
        for (uint64_t s : sizes_) total += s;
        open_direct(total);
        write_all("", header.data(), header.size());
    } catch (...) {
        discard();
        throw;
    }
}

SafetensorsWriter::~SafetensorsWriter() {
    if (!committed_) discard();
}

void SafetensorsWriter::discard() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (direct_fd_ >= 0) ::close(direct_fd_);
    direct_fd_ = -1;
    ::unlink(temp_.c_str());
    forget_temporary(live_slot_);
    live_slot_ = -1;
}

constexpr uint64_t kStage = 8ull << 20;        // multiple of any O_DIRECT alignment
constexpr uint64_t kDirectFrom = 256ull << 20;  // smaller outputs stay in the page cache

void SafetensorsWriter::open_direct(uint64_t total_bytes) {
#ifdef O_DIRECT
    const char* env = std::getenv("CTQ_DIRECT_IO");
    const std::string mode = env ? env : "";
    if (mode == "0" || (mode != "1" && total_bytes < kDirectFrom)) return;
    void* p = nullptr;
    if (::posix_memalign(&p, 4096, kStage) != 0) return;
    stage_.reset(static_cast<char*>(p));
    direct_fd_ = ::open(temp_.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);  // EINVAL on tmpfs: stay buffered
    if (direct_fd_ < 0) stage_.reset();
#else
    (void)total_bytes;
#endif
}

// pwrite all of [p, p + nbytes) at offset; errors name the output and the tensor being written.
void SafetensorsWriter::write_fd(int fd, const std::string& tensor, const char* p, uint64_t nbytes, uint64_t offset) {
    while (nbytes > 0) {
        const ssize_t n = ::pwrite(fd, p, std::min<uint64_t>(nbytes, 1u << 30), static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(output_.string(), tensor, "write failed: " + errno_text());
        if (n == 0) fail(output_.string(), tensor, "write failed: no progress");
        p += n;
        nbytes -= static_cast<uint64_t>(n);
        offset += static_cast<uint64_t>(n);
    }
}

// A full stage goes out through O_DIRECT; the final partial one through the buffered fd.
void SafetensorsWriter::flush_stage(const std::string& tensor, bool final) {
    write_fd(final ? fd_ : direct_fd_, tensor, stage_.get(), staged_, flushed_);
    flushed_ += staged_;
    staged_ = 0;
}

void SafetensorsWriter::write_all(const std::string& tensor, const void* data, uint64_t nbytes) {
    const char* p = static_cast<const char*>(data);
    if (direct_fd_ >= 0) {
        while (nbytes > 0) {
            const uint64_t n = std::min(nbytes, kStage - staged_);
            std::memcpy(stage_.get() + staged_, p, n);
            staged_ += n;
            p += n;
            nbytes -= n;
            written_ += n;
            if (staged_ == kStage) flush_stage(tensor, false);
        }
        return;
    }
    write_fd(fd_, tensor, p, nbytes, written_);
    written_ += nbytes;
    start_writeback();
}

// Starts the kernel writing finished stretches of the file to disk while we go on, so the
// fsync in commit() waits for the last stretch only instead of the whole output.
void SafetensorsWriter::start_writeback() {
    constexpr uint64_t kStretch = 64ull << 20;
    if (written_ - writeback_from_ < kStretch) return;
#ifdef __linux__
    ::sync_file_range(fd_, static_cast<off64_t>(writeback_from_), static_cast<off64_t>(written_ - writeback_from_),
                      SYNC_FILE_RANGE_WRITE);  // a hint: errors surface at fsync
#endif
    writeback_from_ = written_;
}

void SafetensorsWriter::write(const std::string& name, const void* data, uint64_t nbytes) {
    const std::string file = output_.string();
    if (committed_ || fd_ < 0) fail(file, printable_name(name), "write after commit or failure");
    // A finished tensor (zero-sized ones need no call at all) gives way to the next in the plan.
    while (current_ < tensors_.size() && current_done_ == sizes_[current_] && tensors_[current_].name != name) {
        ++current_;
        current_done_ = 0;
    }
    if (current_ == tensors_.size()) fail(file, printable_name(name), "not planned, or written after its turn");
    if (tensors_[current_].name != name)
        fail(file, printable_name(name), "written out of order: expected '" +
                                             printable_name(tensors_[current_].name) + "' first");
    if (nbytes > sizes_[current_] - current_done_)
        fail(file, printable_name(name), "more bytes than planned (" + std::to_string(sizes_[current_]) + ")");
    write_all(name, data, nbytes);
    current_done_ += nbytes;
}

void SafetensorsWriter::commit() {
    const std::string file = output_.string();
    if (committed_ || fd_ < 0) fail(file, "", "commit after commit or failure");
    for (size_t i = current_; i < tensors_.size(); ++i) {
        const uint64_t done = i == current_ ? current_done_ : 0;
        if (done != sizes_[i])
            fail(file, printable_name(tensors_[i].name), "incomplete: " + std::to_string(done) + " of " +
                                                             std::to_string(sizes_[i]) + " bytes written");
    }
    if (direct_fd_ >= 0) {
        flush_stage(tensors_.empty() ? "" : tensors_.back().name, true);
        ::close(direct_fd_);
        direct_fd_ = -1;
    }
    if (::fsync(fd_) != 0) fail(file, "", "fsync failed: " + errno_text());
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(file, "", "close failed: " + errno_text());
    if (::rename(temp_.c_str(), output_.c_str()) != 0) fail(file, "", "rename into place failed: " + errno_text());
    committed_ = true;
    forget_temporary(live_slot_);
    live_slot_ = -1;
    const int dir = ::open(temp_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
}

}  // namespace ctq

// Streams a .safetensors file whose header is known before any data: the planned tensors are
// written in order into a temporary file beside the output, which is renamed over the final
// name only by commit(). Destroyed without commit (an error, a signal), it removes the temporary
// file, so a failed run never leaves a partial output.
#pragma once

#include <ctq/ctq_plugin.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ctq {

struct OutputTensor {
    std::string name;
    ctq_dtype dtype = CTQ_DTYPE_F32;
    std::vector<int64_t> shape;
};

class SafetensorsWriter {
public:
    // Refuses (CtqError) when output is the same file as any of `inputs`. Creates the temporary
    // file and writes the header at once.
    SafetensorsWriter(const std::filesystem::path& output, std::vector<OutputTensor> tensors,
                      const std::map<std::string, std::string>& metadata,
                      const std::vector<std::filesystem::path>& inputs);
    ~SafetensorsWriter();
    SafetensorsWriter(const SafetensorsWriter&) = delete;
    SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

    // Appends bytes of the named tensor, which must be the next one in plan order (or the one
    // in progress). Several calls may fill one tensor.
    void write(const std::string& name, const void* data, uint64_t nbytes);

    // Checks every tensor is complete, flushes, fsyncs and renames into place.
    void commit();

    const std::filesystem::path& temp_path() const { return temp_; }
    uint64_t bytes_written() const { return written_; }
    bool direct_io() const { return direct_fd_ >= 0; }

private:
    std::filesystem::path output_;
    std::filesystem::path temp_;
    std::vector<OutputTensor> tensors_;
    std::vector<uint64_t> sizes_;
    size_t current_ = 0;
    uint64_t current_done_ = 0;
    uint64_t written_ = 0;
    uint64_t writeback_from_ = 0;  // bytes before this were handed to the kernel's writeback
    int fd_ = -1;
    // Large outputs go to disk with O_DIRECT in aligned stretches from a staging buffer: the page
    // cache would have to allocate (and later reclaim) a page for every byte, which on a loaded
    // machine cost 0.2-1.9 s for 690 MB where the disk itself takes 0.4 s. The last, unaligned
    // stretch goes through fd_. CTQ_DIRECT_IO=0 turns it off, =1 forces it for any size.
    int direct_fd_ = -1;
    std::unique_ptr<char, void (*)(void*)> stage_{nullptr, &std::free};
    uint64_t staged_ = 0;   // bytes in stage_, to go at file offset flushed_
    uint64_t flushed_ = 0;  // bytes already on disk through direct_fd_
    int live_slot_ = -1;  // entry in the signal-safe list of temporaries
    bool committed_ = false;

    void start_writeback();
    void open_direct(uint64_t total_bytes);
    void flush_stage(const std::string& tensor, bool final);
    void write_fd(int fd, const std::string& tensor, const char* p, uint64_t nbytes, uint64_t offset);
    void write_all(const std::string& tensor, const void* data, uint64_t nbytes);
    void discard() noexcept;
};

// Every temporary file of a live writer, for signal handlers that must remove them.
void remove_live_temporaries() noexcept;

}  // namespace ctq

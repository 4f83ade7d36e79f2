// A validated, memory-mapped view of one .safetensors file. Nothing is copied: tensor bytes are
// read straight from the mapping, and pages already consumed can be dropped with release(), so
// resident memory stays at a few tensors however large the file.
#pragma once

#include "io/tensor_info.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ctq {

class SafetensorsReader {
public:
    // Maps and validates the whole header (rules in safetensors_header.cpp); throws CtqError
    // naming the file and, where it applies, the tensor. A file truncated by another process
    // while mapped still raises SIGBUS on access, as with any mmap reader.
    explicit SafetensorsReader(const std::filesystem::path& path);
    ~SafetensorsReader();
    SafetensorsReader(const SafetensorsReader&) = delete;
    SafetensorsReader& operator=(const SafetensorsReader&) = delete;

    const std::filesystem::path& path() const { return path_; }
    uint64_t file_size() const { return file_size_; }
    uint64_t header_size() const { return header_size_; }  // the JSON length, without the 8 bytes

    // In the order of their data offsets (the order to stream them in); tensors sharing a begin
    // offset (all but one zero-sized) are ordered by end, then by name.
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find(std::string_view name) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

    // Pointer to the tensor's bytes inside the mapping (valid while the reader lives).
    const uint8_t* data(const TensorInfo& t) const;
    // Tells the kernel the tensor's pages are no longer needed (keeps RSS bounded).
    void release(const TensorInfo& t) const;

private:
    std::filesystem::path path_;
    int fd_ = -1;
    const uint8_t* map_ = nullptr;
    uint64_t file_size_ = 0;
    uint64_t header_size_ = 0;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, std::string> metadata_;
    std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace ctq

// The file is mapped read-only and private: nothing we do can reach the file on disk, and
// MADV_DONTNEED on such a mapping only drops pages that are re-read from the file if touched.
// The header length is checked against the file size before anything is parsed, and the JSON is
// parsed in place from the mapping, so a hostile length never causes an allocation.
#include "io/safetensors_reader.hpp"

#include "core/error.hpp"
#include "io/safetensors_header.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ctq {

namespace {

uint64_t read_u64_le(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

}  // namespace

SafetensorsReader::SafetensorsReader(const std::filesystem::path& path) : path_(path) {
    const std::string file = path.string();
    fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block us
    if (fd_ < 0) fail(file, "", std::string("cannot open: ") + std::strerror(errno));
    try {
        struct stat st {};
        if (::fstat(fd_, &st) != 0) fail(file, "", std::string("cannot stat: ") + std::strerror(errno));
        if (!S_ISREG(st.st_mode)) fail(file, "", "not a regular file");
        file_size_ = static_cast<uint64_t>(st.st_size);
        if (file_size_ < 8)
            fail(file, "", "file of " + std::to_string(file_size_) + " bytes is too short for a safetensors header");

        void* m = ::mmap(nullptr, file_size_, PROT_READ, MAP_PRIVATE, fd_, 0);
        if (m == MAP_FAILED) fail(file, "", std::string("cannot map: ") + std::strerror(errno));
        map_ = static_cast<const uint8_t*>(m);

        header_size_ = read_u64_le(map_);
        if (header_size_ > kMaxHeaderBytes)
            fail(file, "", "header length " + std::to_string(header_size_) + " exceeds the limit of " +
                               std::to_string(kMaxHeaderBytes) + " bytes");
        if (header_size_ > file_size_ - 8)
            fail(file, "", "header length " + std::to_string(header_size_) + " is past the end of the file (" +
                               std::to_string(file_size_) + " bytes)");

        ParsedHeader h = parse_safetensors_header(file, reinterpret_cast<const char*>(map_ + 8), header_size_,
                                                  file_size_ - 8 - header_size_);
        tensors_ = std::move(h.tensors);
        metadata_ = std::move(h.metadata);
        for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
    } catch (...) {
        if (map_) ::munmap(const_cast<uint8_t*>(map_), file_size_);
        ::close(fd_);
        throw;
    }
}

SafetensorsReader::~SafetensorsReader() {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), file_size_);
    if (fd_ >= 0) ::close(fd_);
}

const TensorInfo* SafetensorsReader::find(std::string_view name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

const uint8_t* SafetensorsReader::data(const TensorInfo& t) const { return map_ + 8 + header_size_ + t.begin; }

void SafetensorsReader::release(const TensorInfo& t) const {
    if (t.nbytes() == 0) return;
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    // Whole pages only; a page shared with a neighbour is dropped too, which is harmless: a private
    // read-only mapping refaults it from the file.
    const uint64_t first = (8 + header_size_ + t.begin) / page * page;
    const uint64_t last = std::min(file_size_, (8 + header_size_ + t.end + page - 1) / page * page);
    ::madvise(const_cast<uint8_t*>(map_) + first, last - first, MADV_DONTNEED);
}

}  // namespace ctq

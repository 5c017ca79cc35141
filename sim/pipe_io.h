// Binary requests and replies over stdin / stdout, shared by the C++ mains of the simulated
// board (simboard.cpp) and of the native harness (harness.cpp). Little-endian, as the host's
// side (spikefab.sim.board, spikefab.sim.harness) packs them.
#ifndef SPIKEFAB_PIPE_IO_H
#define SPIKEFAB_PIPE_IO_H

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <unistd.h>

namespace pipe_io {

// Read exactly n bytes from stdin; false at end of input or on an error.
inline bool read_all(void *buf, size_t n) {
    char *p = static_cast<char *>(buf);
    while (n) {
        ssize_t k = read(0, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

// Write all n bytes to stdout; exit quietly when the host is gone.
inline void write_all(const void *buf, size_t n) {
    const char *p = static_cast<const char *>(buf);
    while (n) {
        ssize_t k = write(1, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) std::exit(0);
        p += k;
        n -= (size_t)k;
    }
}

template <typename T> bool get(T *v) { return read_all(v, sizeof(T)); }

template <typename T> void put(std::string *out, T v) {
    out->append(reinterpret_cast<const char *>(&v), sizeof(T));
}

}  // namespace pipe_io

#endif

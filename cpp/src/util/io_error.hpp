// File-system failures are std::system_error carrying errno, so that callers
// can tell them from bad input (std::invalid_argument); Python sees OSError.
#pragma once
#include <cerrno>
#include <string>
#include <system_error>

namespace fragcov {

// "<what> '<path>': <strerror(errno)>"
inline std::system_error io_error(const std::string& what, const std::string& path) {
    return std::system_error(errno, std::generic_category(), what + " '" + path + "'");
}

}  // namespace fragcov

// fragcov::Cancelled: what a cancelled export, import or read throws
// (docs/spec.md section 11.7).
#pragma once
#include <exception>

namespace fragcov {

struct Cancelled : std::exception {
    const char* what() const noexcept override { return "export cancelled"; }
};

}  // namespace fragcov

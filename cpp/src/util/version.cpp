#include "fragcov/fragcov.hpp"

#ifndef FRAGCOV_VERSION
#define FRAGCOV_VERSION "0.0.0"
#endif

namespace fragcov {
const char* version() { return FRAGCOV_VERSION; }
}  // namespace fragcov

#include "util/test_gate.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace fragcov::test_gate {

namespace {

struct Gate {
    std::mutex mutex;
    std::string name, marker;  // the armed gate; the file that says a thread holds there
    bool used = false;
    std::atomic<bool> armed{false}, reached{false};
};

Gate& gate() {
    static Gate* g = [] {
        auto* out = new Gate;  // never destroyed: gates may be passed while the process exits
        if (const char* env = std::getenv("FRAGCOV_TEST_GATE")) {
            const std::string spec = env;
            const size_t colon = spec.find(':');
            out->name = spec.substr(0, colon);
            if (colon != std::string::npos) out->marker = spec.substr(colon + 1);
            out->armed = !out->name.empty();
        }
        return out;
    }();
    return *g;
}

}  // namespace

void arm(const std::string& name) {
    Gate& g = gate();
    std::lock_guard<std::mutex> lock(g.mutex);
    g.name = name;
    g.used = false;
    g.reached = false;
    g.armed = true;
}

bool reached() { return gate().reached; }

void hold(const char* name, const std::function<bool()>& stopped) {
    Gate& g = gate();
    if (!g.armed.load(std::memory_order_relaxed)) return;
    {
        std::lock_guard<std::mutex> lock(g.mutex);
        if (g.used || g.name != name) return;
        g.used = true;
        if (!g.marker.empty())
            if (std::FILE* f = std::fopen(g.marker.c_str(), "w")) std::fclose(f);
        g.reached = true;
    }
    while (!stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace fragcov::test_gate

// Test gates: named points where a test holds the work until it cancels it,
// so that tests of cancellation do not depend on the machine's speed (no test
// may: a sleep before the signal is too short on one machine and the work
// already done on another). Unarmed, a gate costs one atomic load.
#pragma once
#include <functional>
#include <string>

namespace fragcov::test_gate {

// Arms gate `name` in this process (a unit test's way). Another process is armed
// by the environment: FRAGCOV_TEST_GATE="<name>:<marker path>" arms `name`, and
// the gate creates the file <marker path> once a thread holds there.
void arm(const std::string& name);
// True once a thread holds (or held) at the armed gate.
bool reached();

// At the gate `name`: when it is armed and no thread has held there yet, waits
// until stopped() returns true (asked every 10 ms); otherwise returns at once.
void hold(const char* name, const std::function<bool()>& stopped);

}  // namespace fragcov::test_gate

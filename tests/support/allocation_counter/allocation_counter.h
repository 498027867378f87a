// Counts every heap allocation made through operator new in the process, so
// tests and benchmarks can show that a steady-state hot path makes none.
// Linked only into the programs that ask for it (the txmon_allocation_counter
// object library): it replaces the global operator new of the whole program.
#pragma once

#include <cstdint>

namespace txmon::test {

// Allocations since the program started; read it before and after the code
// under test and compare.
int64_t AllocationCount();

}  // namespace txmon::test

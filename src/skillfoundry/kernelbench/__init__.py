"""KernelBench interop: import its problem files into suites and grade its ``ModelNew`` answers."""

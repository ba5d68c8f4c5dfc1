// The entry point of snn-fuzz. SwiftPM links an executable target with `main` aliased to
// SNNFuzz_main; this one hands the command line to libFuzzer (linked without its own main), which
// calls LLVMFuzzerInitialize and LLVMFuzzerTestOneInput (Tests/Fuzz/SNNFuzz/Entry.swift).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int SNNFuzz_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}

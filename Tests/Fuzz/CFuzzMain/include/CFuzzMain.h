// Empty: the module only provides SNNFuzz_main (main.c).

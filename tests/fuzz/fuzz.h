/*
 * fuzz: what the libFuzzer harnesses of tests/fuzz share. Each harness is one fuzz_NAME.c
 * defining LLVMFuzzerTestOneInput(); libFuzzer (-fsanitize=fuzzer) supplies main().
 */
#ifndef INCIDENTD_TESTS_FUZZ_FUZZ_H
#define INCIDENTD_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entry points libFuzzer calls (declared here for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * The input as a C string: a malloc'd copy of exactly size bytes and a NUL (an input that holds
 * a NUL ends there for the functions that take strings). Aborts when memory runs out.
 */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

/*
 * A broken property: prints what and the input's first bytes, then aborts, which libFuzzer
 * reports as a crash with the input saved as a reproducer.
 */
#define FUZZ_FAIL(...)                                                                        \
	do {                                                                                  \
		fprintf(stderr, "fuzz: " __VA_ARGS__);                                        \
		fputc('\n', stderr);                                                          \
		abort();                                                                      \
	} while (0)

#endif

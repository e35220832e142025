/* Instruction-set detection and the run-time kernel dispatch.
 *
 * At start the best ISA the CPU (and OS) supports is chosen from cpuid;
 * DMMP_ISA=scalar|avx2|avx512 forces one. Each kernel family in simd/ exposes
 * one table of function pointers per ISA (scalar always present) and picks
 * the active one with ISA_SELECT. The active ISA is the only mutable global
 * of the compute core. */
#ifndef DMMP_SIMD_ISA_H
#define DMMP_SIMD_ISA_H

#include <stddef.h>

#include "core/status.h"

typedef enum isa_level {
    ISA_SCALAR = 0, /* portable C, always available */
    ISA_AVX2 = 1,   /* AVX2 + FMA + F16C */
    ISA_AVX512 = 2, /* AVX-512 F, BW, DQ, VL */
    ISA_COUNT = 3
} isa_level;

/* Detects the CPU and applies DMMP_ISA. Unknown names or an ISA the CPU
 * lacks are errors. Safe to call more than once (re-reads DMMP_ISA). */
dmmp_status isa_init(void);

/* The active ISA (initialises on first use; exits with status 2 and a
 * message if DMMP_ISA asks for something impossible). */
isa_level isa_active(void);

/* Forces the active ISA (tests iterate over every path with it). */
dmmp_status isa_force(isa_level level);

/* 1 when this CPU and OS can run code built for level. */
int isa_cpu_has(isa_level level);

/* The best level this CPU supports. */
isa_level isa_best(void);

/* "scalar", "avx2" or "avx512". */
const char *isa_name(isa_level level);

/* Parses a name as accepted by DMMP_ISA; returns 0 on success. */
int isa_parse(const char *name, isa_level *out);

/* Writes the CPU's relevant features ("sse4.2 avx avx2 fma avx512f ...") to buf. */
void isa_cpu_features(char *buf, size_t len);

/* Writes the CPU brand string to buf. */
void isa_cpu_brand(char *buf, size_t len);

#define ISA_SELECT_FOR(level, scalar, avx2, avx512) \
    ((level) == ISA_AVX512 ? (avx512) : (level) == ISA_AVX2 ? (avx2) : (scalar))
#define ISA_SELECT(scalar, avx2, avx512) ISA_SELECT_FOR(isa_active(), scalar, avx2, avx512)

#endif

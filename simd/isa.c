#include "simd/isa.h"

#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int initialised = 0;
static isa_level active = ISA_SCALAR;

typedef struct cpu_features {
    int sse42, avx, avx2, fma, f16c, avx512f, avx512bw, avx512dq, avx512vl, avx512vnni, avx512bf16,
        amx_tile, amx_bf16, amx_int8, os_avx, os_avx512;
} cpu_features;

static uint64_t xgetbv0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static cpu_features detect(void)
{
    cpu_features f;
    unsigned a, b, c, d;
    memset(&f, 0, sizeof f);
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    f.sse42 = (c >> 20) & 1;
    f.fma = (c >> 12) & 1;
    f.f16c = (c >> 29) & 1;
    f.avx = (c >> 28) & 1;
    if ((c >> 27) & 1) { /* OSXSAVE: the OS saves the wide registers we may use */
        uint64_t xcr0 = xgetbv0();
        f.os_avx = (xcr0 & 0x6) == 0x6;
        f.os_avx512 = (xcr0 & 0xe6) == 0xe6;
    }
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.avx2 = (b >> 5) & 1;
        f.avx512f = (b >> 16) & 1;
        f.avx512dq = (b >> 17) & 1;
        f.avx512bw = (b >> 30) & 1;
        f.avx512vl = (b >> 31) & 1;
        f.avx512vnni = (c >> 11) & 1;
        f.amx_bf16 = (d >> 22) & 1;
        f.amx_tile = (d >> 24) & 1;
        f.amx_int8 = (d >> 25) & 1;
        __cpuid_count(7, 1, a, b, c, d);
        f.avx512bf16 = (a >> 5) & 1;
    }
    return f;
}

int isa_cpu_has(isa_level level)
{
    cpu_features f = detect();
    switch (level) {
    case ISA_SCALAR: return 1;
    case ISA_AVX2: return f.os_avx && f.avx && f.avx2 && f.fma && f.f16c;
    case ISA_AVX512:
        return f.os_avx && f.os_avx512 && f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw &&
               f.avx512dq && f.avx512vl;
    default: return 0;
    }
}

isa_level isa_best(void)
{
    if (isa_cpu_has(ISA_AVX512)) return ISA_AVX512;
    if (isa_cpu_has(ISA_AVX2)) return ISA_AVX2;
    return ISA_SCALAR;
}

const char *isa_name(isa_level level)
{
    switch (level) {
    case ISA_SCALAR: return "scalar";
    case ISA_AVX2: return "avx2";
    case ISA_AVX512: return "avx512";
    default: return "unknown";
    }
}

int isa_parse(const char *name, isa_level *out)
{
    for (int l = 0; l < ISA_COUNT; l++) {
        if (!strcmp(name, isa_name((isa_level)l))) {
            *out = (isa_level)l;
            return 0;
        }
    }
    return -1;
}

dmmp_status isa_force(isa_level level)
{
    if (level < 0 || level >= ISA_COUNT)
        return dmmp_fail(DMMP_EINVAL, "ISA level %d is not one of scalar, avx2, avx512", (int)level);
    if (!isa_cpu_has(level))
        return dmmp_fail(DMMP_EUNSUPPORTED, "this CPU does not support %s (best available: %s)",
                         isa_name(level), isa_name(isa_best()));
    active = level;
    initialised = 1;
    return DMMP_OK;
}

dmmp_status isa_init(void)
{
    const char *env = getenv("DMMP_ISA");
    isa_level want;
    if (!env || !*env) {
        active = isa_best();
        initialised = 1;
        return DMMP_OK;
    }
    if (isa_parse(env, &want) != 0)
        return dmmp_fail(DMMP_EINVAL, "DMMP_ISA=%s: expected one of scalar, avx2, avx512", env);
    if (!isa_cpu_has(want))
        return dmmp_fail(DMMP_EUNSUPPORTED, "DMMP_ISA=%s: this CPU does not support %s (best available: %s)",
                         env, env, isa_name(isa_best()));
    active = want;
    initialised = 1;
    return DMMP_OK;
}

isa_level isa_active(void)
{
    if (!initialised && isa_init() != DMMP_OK) {
        fprintf(stderr, "dmmp: %s\n", dmmp_errmsg());
        exit(2);
    }
    return active;
}

void isa_cpu_features(char *buf, size_t len)
{
    cpu_features f = detect();
    struct { int on; const char *name; } list[] = {
        {f.sse42, "sse4.2"},     {f.avx, "avx"},           {f.avx2, "avx2"},
        {f.fma, "fma"},          {f.f16c, "f16c"},         {f.avx512f, "avx512f"},
        {f.avx512bw, "avx512bw"}, {f.avx512dq, "avx512dq"}, {f.avx512vl, "avx512vl"},
        {f.avx512vnni, "avx512vnni"}, {f.avx512bf16, "avx512bf16"}, {f.amx_tile, "amx-tile"},
        {f.amx_bf16, "amx-bf16"}, {f.amx_int8, "amx-int8"},
    };
    size_t used = 0;
    if (len) buf[0] = '\0';
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        if (!list[i].on) continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", list[i].name);
        if (n < 0 || (size_t)n >= len - used) break;
        used += (size_t)n;
    }
    if (!f.os_avx512 && f.avx512f && len > used)
        snprintf(buf + used, len - used, " (avx512 disabled by the OS)");
}

void isa_cpu_brand(char *buf, size_t len)
{
    unsigned regs[12];
    if (__get_cpuid_max(0x80000000, NULL) < 0x80000004) {
        snprintf(buf, len, "unknown x86-64");
        return;
    }
    for (unsigned i = 0; i < 3; i++)
        __cpuid(0x80000002 + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2], regs[4 * i + 3]);
    char brand[49];
    memcpy(brand, regs, 48);
    brand[48] = '\0';
    char *s = brand;
    while (*s == ' ') s++;
    snprintf(buf, len, "%s", s);
}

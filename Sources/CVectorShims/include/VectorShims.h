// Vector operations the Swift standard library scalarises on Linux. Clang's ext_vector_type(16)
// float is imported by Swift as SIMD16<Float>, and these static inline functions are inlined
// into the Swift code that calls them (they are compiled with the Swift target's CPU, so
// `-target-cpu native` gives AVX2/FMA or AVX-512 code; without it, plain SSE2).
//
// The random-number hot path (Philox4x32-10 + Box–Muller, docs/METHOD.md §Random numbers) lives here as well: written
// with clang vector extensions it compiles to straight-line vector code (10 unrolled rounds,
// vpmuludq products, FMA polynomials, vcvtdq2ps conversions, vsqrtps), where the Swift SIMD
// version scalarised part of the polynomials and never formed FMAs. The numbers are the same as
// the Swift reference (RandomStreams.swift) up to float rounding.
#ifndef SNN_VECTOR_SHIMS_H
#define SNN_VECTOR_SHIMS_H

#include <stdint.h>

typedef float snn_float16 __attribute__((ext_vector_type(16)));
typedef uint32_t snn_uint16 __attribute__((ext_vector_type(16)));

/// Lane-wise square root (IEEE, no errno path: the stdlib's Float.squareRoot calls sqrtf).
static inline __attribute__((always_inline)) snn_float16 snn_sqrt16(snn_float16 x) {
    return __builtin_elementwise_sqrt(x);
}

// ---------------------------------------------------------------------------------------------
// Philox4x32-10 and Box–Muller. Work is done W lanes (blocks) at a time: 8 with AVX2 (one ymm
// per vector; 16 lanes would need 2 ymm each and spill), 16 with AVX-512 (one zmm).
#ifndef SNN_W
#if defined(__AVX512F__)
#define SNN_W 16
#else
#define SNN_W 8
#endif
#endif

typedef uint32_t snn_wu32 __attribute__((ext_vector_type(SNN_W)));
typedef int32_t snn_wi32 __attribute__((ext_vector_type(SNN_W)));
typedef uint64_t snn_wu64 __attribute__((ext_vector_type(SNN_W / 2)));
typedef float snn_wf32 __attribute__((ext_vector_type(SNN_W)));

#define SNN_PHILOX_M0 0xD2511F53u
#define SNN_PHILOX_M1 0xCD9E8D57u
#define SNN_PHILOX_W0 0x9E3779B9u
#define SNN_PHILOX_W1 0xBB67AE85u

/// (high, low) halves of x·m per 32-bit lane: the even and odd lanes as 64-bit lanes
/// (vpmuludq takes the low 32 bits of each 64-bit lane).
static inline __attribute__((always_inline)) void
snn_mulhilo(snn_wu32 x, uint32_t m, snn_wu32 *hi, snn_wu32 *lo) {
    const snn_wu64 lowMask = (snn_wu64)0xFFFFFFFFull;
    const snn_wu64 mm = (snn_wu64)(uint64_t)m;
    snn_wu64 wide = (snn_wu64)x;
    snn_wu64 even = (wide & lowMask) * mm;
    snn_wu64 odd = (wide >> 32) * mm;
    *lo = x * m;                                                        // vpmulld
    *hi = (snn_wu32)((even >> 32) | (odd & ~lowMask));
}

/// Philox4x32-10 on W blocks: lane b has counter (c0[b], c1, c2, c3).
static inline __attribute__((always_inline)) void
snn_philox_w(snn_wu32 c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
             snn_wu32 *o0, snn_wu32 *o1, snn_wu32 *o2, snn_wu32 *o3) {
    snn_wu32 x0 = c0, x1 = (snn_wu32)c1, x2 = (snn_wu32)c2, x3 = (snn_wu32)c3;
#pragma clang loop unroll(full)
    for (int round = 0; round < 10; round++) {
        snn_wu32 hi0, lo0, hi1, lo1;
        snn_mulhilo(x0, SNN_PHILOX_M0, &hi0, &lo0);
        snn_mulhilo(x2, SNN_PHILOX_M1, &hi1, &lo1);
        uint32_t rk0 = k0 + (uint32_t)round * SNN_PHILOX_W0;
        uint32_t rk1 = k1 + (uint32_t)round * SNN_PHILOX_W1;
        x0 = hi1 ^ x1 ^ (snn_wu32)rk0;
        x2 = hi0 ^ x3 ^ (snn_wu32)rk1;
        x1 = lo1;
        x3 = lo0;
    }
    *o0 = x0; *o1 = x1; *o2 = x2; *o3 = x3;
}

#pragma clang fp contract(on)   // a*b + c in one expression → FMA where the target has it

/// √(−2 ln u) for u = ((w >> 8) + 1)·2⁻²⁴ ∈ (0, 1] (Cephes logf polynomial).
static inline __attribute__((always_inline)) snn_wf32 snn_bm_radius(snn_wu32 w) {
    snn_wf32 u = __builtin_convertvector((snn_wi32)((w >> 8) + 1u), snn_wf32) * 0x1p-24f;
    snn_wi32 bits = (snn_wi32)u;
    snn_wi32 ei = (bits >> 23) - 126;                                   // u = m·2^ei, m ∈ [½, 1)
    snn_wf32 m = (snn_wf32)((bits & 0x007FFFFF) | 0x3F000000);
    snn_wi32 small = m < 0.707106781186547524f;                         // −1 where m < √½
    snn_wf32 e = __builtin_convertvector(ei + small, snn_wf32);
    m = m + (snn_wf32)((snn_wi32)m & small) - 1.0f;                     // fold to [√½, √2) − 1
    snn_wf32 z = m * m;
    snn_wf32 y = 7.0376836292E-2f;
    y = y * m - 1.1514610310E-1f;
    y = y * m + 1.1676998740E-1f;
    y = y * m - 1.2420140846E-1f;
    y = y * m + 1.4249322787E-1f;
    y = y * m - 1.6668057665E-1f;
    y = y * m + 2.0000714765E-1f;
    y = y * m - 2.4999993993E-1f;
    y = y * m + 3.3333331174E-1f;
    y = y * m * z;
    y = y + e * -2.12194440E-4f;
    y = y - 0.5f * z;
    snn_wf32 lg = m + y + e * 0.693359375f;
    return __builtin_elementwise_sqrt(-2.0f * lg);
}

/// (sin 2πu, cos 2πu) for u = (w >> 8)·2⁻²⁴: quadrant q = round(4u), t = 2π(u − q/4) from the
/// exact integer remainder, Cephes sinf/cosf polynomials on [−π/4, π/4], then rotation by q.
static inline __attribute__((always_inline)) void
snn_bm_sincos(snn_wu32 w, snn_wf32 *sinOut, snn_wf32 *cosOut) {
    snn_wu32 n = w >> 8;
    snn_wu32 q = (n + (1u << 21)) >> 22;
    snn_wi32 f = (snn_wi32)n - (snn_wi32)(q << 22);                     // ∈ [−2²¹, 2²¹]
    snn_wf32 t = __builtin_convertvector(f, snn_wf32) * (float)(6.283185307179586 / 16777216.0);
    snn_wf32 t2 = t * t;
    snn_wf32 s = -1.9515295891E-4f;
    s = s * t2 + 8.3321608736E-3f;
    s = s * t2 - 1.6666654611E-1f;
    s = (s * t2) * t + t;
    snn_wf32 c = 2.443315711809948E-5f;
    c = c * t2 - 1.388731625493765E-3f;
    c = c * t2 + 4.166664568298827E-2f;
    c = (c * t2) * t2 - 0.5f * t2 + 1.0f;
    // quadrant 1: (cos, −sin); 2: (−sin, −cos); 3: (−cos, sin)
    snn_wi32 swap = -(snn_wi32)(q & 1u);
    snn_wi32 si = (snn_wi32)s, ci = (snn_wi32)c;
    snn_wi32 sinBits = (si & ~swap) | (ci & swap);
    snn_wi32 cosBits = (ci & ~swap) | (si & swap);
    sinBits ^= (snn_wi32)((q & 2u) << 30);
    cosBits ^= (snn_wi32)(((q + 1u) & 2u) << 30);
    *sinOut = (snn_wf32)sinBits;
    *cosOut = (snn_wf32)cosBits;
}

/// Box–Muller on one Philox output of W blocks: words (0, 1) → (r₁cos θ₁, r₁sin θ₁),
/// (2, 3) → (r₂cos θ₂, r₂sin θ₂).
static inline __attribute__((always_inline)) void
snn_box_muller_w(snn_wu32 w0, snn_wu32 w1, snn_wu32 w2, snn_wu32 w3,
                 snn_wf32 *z0, snn_wf32 *z1, snn_wf32 *z2, snn_wf32 *z3) {
    snn_wf32 s1, c1, s2, c2;
    snn_wf32 r1 = snn_bm_radius(w0);
    snn_bm_sincos(w1, &s1, &c1);
    *z0 = r1 * c1; *z1 = r1 * s1;
    snn_wf32 r2 = snn_bm_radius(w2);
    snn_bm_sincos(w3, &s2, &c2);
    *z2 = r2 * c2; *z3 = r2 * s2;
}


// (Swift imports neither functions returning structs of vectors nor pointers to vectors: results
// go through a void pointer to four consecutive 16-lane vectors, a Swift tuple of four SIMD16s;
// the memory vanishes once the function is inlined.)

/// Sixteen Philox4x32-10 blocks, lane b with counter (c0[b], c1, c2, c3): word k of block b at
/// uint32 index 16·k + b of `out`.
static inline __attribute__((always_inline)) void
snn_philox16(snn_uint16 c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, void *out) {
    struct { snn_uint16 w0, w1, w2, w3; } r;
#if SNN_W == 16
    snn_philox_w(c0, c1, c2, c3, k0, k1, &r.w0, &r.w1, &r.w2, &r.w3);
#else
    snn_wu32 a0, a1, a2, a3, b0, b1, b2, b3;
    snn_philox_w(c0.lo, c1, c2, c3, k0, k1, &a0, &a1, &a2, &a3);
    snn_philox_w(c0.hi, c1, c2, c3, k0, k1, &b0, &b1, &b2, &b3);
    r.w0 = __builtin_shufflevector(a0, b0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    r.w1 = __builtin_shufflevector(a1, b1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    r.w2 = __builtin_shufflevector(a2, b2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    r.w3 = __builtin_shufflevector(a3, b3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#endif
    __builtin_memcpy(out, &r, sizeof r);
}

/// The 64 standard normals of blocks base … base + 15 (c0 = base + b), NormalStream's group:
/// element 16·k + b at float index 16·k + b of `out`.
static inline __attribute__((always_inline)) void
snn_normals64(uint32_t base, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, void *out) {
    struct { snn_float16 z0, z1, z2, z3; } r;
#if SNN_W == 16
    const snn_wu32 lanes = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    snn_wu32 w0, w1, w2, w3;
    snn_philox_w((snn_wu32)base + lanes, c1, c2, c3, k0, k1, &w0, &w1, &w2, &w3);
    snn_box_muller_w(w0, w1, w2, w3, &r.z0, &r.z1, &r.z2, &r.z3);
#else
    const snn_wu32 lanes = {0, 1, 2, 3, 4, 5, 6, 7};
    snn_wu32 w0, w1, w2, w3;
    snn_wf32 a0, a1, a2, a3, b0, b1, b2, b3;
    snn_philox_w((snn_wu32)base + lanes, c1, c2, c3, k0, k1, &w0, &w1, &w2, &w3);
    snn_box_muller_w(w0, w1, w2, w3, &a0, &a1, &a2, &a3);
    snn_philox_w((snn_wu32)(base + 8u) + lanes, c1, c2, c3, k0, k1, &w0, &w1, &w2, &w3);
    snn_box_muller_w(w0, w1, w2, w3, &b0, &b1, &b2, &b3);
    r.z0 = __builtin_shufflevector(a0, b0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    r.z1 = __builtin_shufflevector(a1, b1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    r.z2 = __builtin_shufflevector(a2, b2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    r.z3 = __builtin_shufflevector(a3, b3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#endif
    __builtin_memcpy(out, &r, sizeof r);
}

/// Writes groups g0 … g0 + groups − 1 (64 normals each, group g at out + 64·(g − g0)); the
/// counter word c0 of block b of group g is c0Base + 16·g + b.
static inline __attribute__((always_inline)) void
snn_normals_fill(float *out, long g0, long groups, uint32_t c0Base,
                 uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
    for (long g = 0; g < groups; g++) {
        uint32_t base = c0Base + (uint32_t)((g0 + g) * 16);
#if SNN_W == 16
        const snn_wu32 lanes = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
#else
        const snn_wu32 lanes = {0, 1, 2, 3, 4, 5, 6, 7};
#endif
        for (int h = 0; h < 16 / SNN_W; h++) {
            snn_wu32 w0, w1, w2, w3;
            snn_wf32 z0, z1, z2, z3;
            snn_philox_w((snn_wu32)(base + (uint32_t)(h * SNN_W)) + lanes, c1, c2, c3, k0, k1, &w0, &w1, &w2, &w3);
            snn_box_muller_w(w0, w1, w2, w3, &z0, &z1, &z2, &z3);
            float *p = out + g * 64 + h * SNN_W;
            __builtin_memcpy(p, &z0, sizeof z0);
            __builtin_memcpy(p + 16, &z1, sizeof z1);
            __builtin_memcpy(p + 32, &z2, sizeof z2);
            __builtin_memcpy(p + 48, &z3, sizeof z3);
        }
    }
}

#endif

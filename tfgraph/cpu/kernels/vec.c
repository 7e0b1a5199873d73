//go:build cgo && !nodnnl

// Elementwise loops the compiler vectorizes: -O3 for the vectorizer, no
// errno so sqrtf becomes an instruction, and an AVX2 clone picked at load
// time where the CPU has it.
#pragma GCC optimize("O3", "no-math-errno")

#include "dnnl_glue.h"

#include <math.h>

#define LOOP(expr)                        \
    for (int i = 0; i < n; i++) d[i] = (expr); \
    break

__attribute__((target_clones("avx2", "default"))) void tf_vec(int op, int n, float *restrict d,
                                                              const float *restrict a,
                                                              const float *restrict b,
                                                              const float *restrict c) {
    switch (op) {
    case TF_VEC_ADD: LOOP(a[i] + b[i]);
    case TF_VEC_SUB: LOOP(a[i] - b[i]);
    case TF_VEC_MUL: LOOP(a[i] * b[i]);
    case TF_VEC_DIV: LOOP(a[i] / b[i]);
    // NaN wins, as with Go's max and min.
    case TF_VEC_MAX: LOOP((a[i] > b[i] || a[i] != a[i]) ? a[i] : b[i]);
    case TF_VEC_MIN: LOOP((a[i] < b[i] || a[i] != a[i]) ? a[i] : b[i]);
    case TF_VEC_NEG: LOOP(-a[i]);
    case TF_VEC_ABS: LOOP(fabsf(a[i]));
    case TF_VEC_SQRT: LOOP(sqrtf(a[i]));
    case TF_VEC_GT: LOOP(a[i] > b[i] ? 1.0f : 0.0f);
    case TF_VEC_GE: LOOP(a[i] >= b[i] ? 1.0f : 0.0f);
    case TF_VEC_LT: LOOP(a[i] < b[i] ? 1.0f : 0.0f);
    case TF_VEC_LE: LOOP(a[i] <= b[i] ? 1.0f : 0.0f);
    case TF_VEC_EQ: LOOP(a[i] == b[i] ? 1.0f : 0.0f);
    case TF_VEC_NE: LOOP(a[i] != b[i] ? 1.0f : 0.0f);
    case TF_VEC_AND: LOOP(((a[i] != 0.0f) & (b[i] != 0.0f)) ? 1.0f : 0.0f);
    case TF_VEC_OR: LOOP(((a[i] != 0.0f) | (b[i] != 0.0f)) ? 1.0f : 0.0f);
    case TF_VEC_XOR: LOOP(((a[i] != 0.0f) ^ (b[i] != 0.0f)) ? 1.0f : 0.0f);
    case TF_VEC_NOT: LOOP(a[i] == 0.0f ? 1.0f : 0.0f);
    case TF_VEC_WHERE: LOOP(a[i] != 0.0f ? b[i] : c[i]);
    case TF_VEC_COPY: LOOP(a[i]);
    case TF_VEC_TO_BOOL: LOOP(a[i] != 0.0f ? 1.0f : 0.0f);
    }
}

// Go's bools are bytes holding 0 or 1.
__attribute__((target_clones("avx2", "default"))) void tf_bools_to_floats(int n, float *restrict d,
                                                                          const unsigned char *restrict s) {
    for (int i = 0; i < n; i++) d[i] = (float)s[i];
}

__attribute__((target_clones("avx2", "default"))) void tf_floats_to_bools(int n, unsigned char *restrict d,
                                                                          const float *restrict s) {
    for (int i = 0; i < n; i++) d[i] = s[i] != 0.0f;
}

__attribute__((target_clones("avx2", "default"))) void tf_add_to64(int n, double *restrict acc,
                                                                   const float *restrict v) {
    for (int i = 0; i < n; i++) acc[i] += (double)v[i];
}

// C side of the native kernels: oneDNN convolution plans and OpenBLAS.
#ifndef TFRUN_DNNL_GLUE_H
#define TFRUN_DNNL_GLUE_H

#include <stddef.h>
#include <stdint.h>

enum { TF_CONV_FWD = 0, TF_CONV_BWD_DATA = 1, TF_CONV_BWD_WEIGHTS = 2 };

typedef struct tf_plan tf_plan;

// tf_init loads oneDNN and OpenBLAS and creates the engine and stream; it
// returns 0 on success, otherwise writes why into err.
int tf_init(char *err, int errlen);

void tf_set_threads(int n);

// tf_conv_plan builds a convolution primitive and the reorders between the
// caller's layouts and the primitive's. nd counts all axes of an activation
// (2 + spatial). src and dst are given by dims and element strides, weights
// are dense [G, O/G, I/G, k...]. Dilations count from 1. A forward plan's
// epilogue adds a bias per output channel (bit 0) and applies a ReLU
// (bit 1). On failure it returns NULL and writes a message into err.
tf_plan *tf_conv_plan(int kind, int nd, const int64_t *src_dims, const int64_t *src_strides,
                      const int64_t *dst_dims, const int64_t *dst_strides, int64_t groups,
                      const int64_t *kernel, const int64_t *strides, const int64_t *dilations,
                      const int64_t *pad_lo, const int64_t *pad_hi, int epilogue, char *err, int errlen);

// tf_plan_exec runs a plan on the caller's buffers, which it does not keep;
// bias is read only by a plan with a bias. Bit i of direct says that role
// i's buffer (0 source, 1 weights, 2 destination) is in the primitive's
// own layout rather than the caller's: for the activations, one that
// tf_plan_blocked reported as the 8-channel blocked one; for the weights,
// what tf_plan_weights wrote. It returns 0 on success, a oneDNN status
// otherwise.
int tf_plan_exec(tf_plan *p, float *src, float *wei, float *dst, float *bias, int direct);

// tf_plan_blocked reports whether the primitive reorders role i into or out
// of oneDNN's 8-channel blocked layout (aBcd8b for 2-D, no padding).
int tf_plan_blocked(const tf_plan *p, int role);

// tf_plan_weights writes a forward plan's dense weights into out, of
// tf_plan_weights_size bytes, in the layout its primitive reads.
size_t tf_plan_weights_size(const tf_plan *p);
int tf_plan_weights(tf_plan *p, const float *dense, float *out);

// tf_unblock reorders an activation from the 8-channel blocked layout into
// a strided one (f32, or u8 for bools).
typedef struct tf_unblock tf_unblock;
tf_unblock *tf_unblock_plan(int nd, const int64_t *dims, const int64_t *strides, int u8, char *err, int errlen);
int tf_unblock_exec(tf_unblock *u, void *from, void *to);
void tf_unblock_free(tf_unblock *u);

void tf_plan_free(tf_plan *p);

// tf_plan_impl names the implementation oneDNN chose.
const char *tf_plan_impl(const tf_plan *p);

// tf_vec computes d = op(a, b, c) elementwise; the ops are kernels.VecOp's,
// in its order.
enum {
    TF_VEC_ADD, TF_VEC_SUB, TF_VEC_MUL, TF_VEC_DIV, TF_VEC_MAX, TF_VEC_MIN, TF_VEC_NEG, TF_VEC_ABS,
    TF_VEC_SQRT, TF_VEC_GT, TF_VEC_GE, TF_VEC_LT, TF_VEC_LE, TF_VEC_EQ, TF_VEC_NE, TF_VEC_AND,
    TF_VEC_OR, TF_VEC_XOR, TF_VEC_NOT, TF_VEC_WHERE, TF_VEC_COPY, TF_VEC_TO_BOOL
};
void tf_vec(int op, int n, float *d, const float *a, const float *b, const float *c);
void tf_bools_to_floats(int n, float *d, const unsigned char *s);
void tf_add_to64(int n, double *acc, const float *v);
void tf_floats_to_bools(int n, unsigned char *d, const float *s);

// tf_dw is a depthwise 2-D convolution (one filter per channel) whose
// activations have unit channel stride; the *s* fields are element strides
// of batch, row and column.
typedef struct {
    long c, xsn, xsh, xsw, ysn, ysh, ysw;
    int ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, relu;
} tf_dw;

// tf_dwconv computes output rows [r0, r1), row r being image r / oh, row
// r % oh. w holds each tap's c weights in turn, taps row-major; bias is
// NULL or c values added before the optional ReLU.
void tf_dwconv(const tf_dw *g, int r0, int r1, const float *x, const float *w, const float *bias, float *y);

void tf_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);

#endif

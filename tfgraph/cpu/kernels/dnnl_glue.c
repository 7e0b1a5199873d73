//go:build cgo && !nodnnl

#define _GNU_SOURCE

#include "dnnl_glue.h"

#include <cblas.h>
#include <dlfcn.h>
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The libraries are opened at run time rather than linked: a missing one
// then means the pure-Go kernels instead of a binary that will not start,
// and the OpenMP and OpenBLAS thread pools read their environment
// settings (which tfrun chooses) only when loaded.
//
// Each function used is declared as a pointer of its own prototype's type;
// the defines below make the code call through them.
#define TF_FUNCS(X)                                                                                \
    X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_wait) X(dnnl_memory_desc_init_by_strides) \
    X(dnnl_memory_desc_init_by_tag) X(dnnl_memory_desc_equal) X(dnnl_memory_desc_get_size)         \
    X(dnnl_memory_create) X(dnnl_memory_destroy) X(dnnl_memory_set_data_handle)                    \
    X(dnnl_dilated_convolution_forward_desc_init) X(dnnl_dilated_convolution_backward_data_desc_init) \
    X(dnnl_dilated_convolution_backward_weights_desc_init) X(dnnl_primitive_desc_create)           \
    X(dnnl_primitive_desc_destroy) X(dnnl_primitive_desc_query) X(dnnl_primitive_desc_query_md)    \
    X(dnnl_primitive_create) X(dnnl_primitive_destroy) X(dnnl_primitive_execute)                   \
    X(dnnl_reorder_primitive_desc_create) X(dnnl_post_ops_create) X(dnnl_post_ops_destroy)                \
    X(dnnl_post_ops_append_eltwise) X(dnnl_primitive_attr_create) X(dnnl_primitive_attr_destroy)   \
    X(dnnl_primitive_attr_set_post_ops) X(cblas_sgemm) X(openblas_set_num_threads)

extern void omp_set_num_threads(int);
#define TF_OMP_FUNCS(X) X(omp_set_num_threads)

#define TF_DECLARE(f) static __typeof__(&f) p_##f;
TF_FUNCS(TF_DECLARE)
TF_OMP_FUNCS(TF_DECLARE)

#define dnnl_engine_create (*p_dnnl_engine_create)
#define dnnl_stream_create (*p_dnnl_stream_create)
#define dnnl_stream_wait (*p_dnnl_stream_wait)
#define dnnl_memory_desc_init_by_strides (*p_dnnl_memory_desc_init_by_strides)
#define dnnl_memory_desc_init_by_tag (*p_dnnl_memory_desc_init_by_tag)
#define dnnl_memory_desc_equal (*p_dnnl_memory_desc_equal)
#define dnnl_memory_desc_get_size (*p_dnnl_memory_desc_get_size)
#define dnnl_memory_create (*p_dnnl_memory_create)
#define dnnl_memory_destroy (*p_dnnl_memory_destroy)
#define dnnl_memory_set_data_handle (*p_dnnl_memory_set_data_handle)
#define dnnl_dilated_convolution_forward_desc_init (*p_dnnl_dilated_convolution_forward_desc_init)
#define dnnl_dilated_convolution_backward_data_desc_init (*p_dnnl_dilated_convolution_backward_data_desc_init)
#define dnnl_dilated_convolution_backward_weights_desc_init (*p_dnnl_dilated_convolution_backward_weights_desc_init)
#define dnnl_primitive_desc_create (*p_dnnl_primitive_desc_create)
#define dnnl_primitive_desc_destroy (*p_dnnl_primitive_desc_destroy)
#define dnnl_primitive_desc_query (*p_dnnl_primitive_desc_query)
#define dnnl_primitive_desc_query_md (*p_dnnl_primitive_desc_query_md)
#define dnnl_primitive_create (*p_dnnl_primitive_create)
#define dnnl_primitive_destroy (*p_dnnl_primitive_destroy)
#define dnnl_primitive_execute (*p_dnnl_primitive_execute)
#define dnnl_reorder_primitive_desc_create (*p_dnnl_reorder_primitive_desc_create)
#define dnnl_post_ops_create (*p_dnnl_post_ops_create)
#define dnnl_post_ops_destroy (*p_dnnl_post_ops_destroy)
#define dnnl_post_ops_append_eltwise (*p_dnnl_post_ops_append_eltwise)
#define dnnl_primitive_attr_create (*p_dnnl_primitive_attr_create)
#define dnnl_primitive_attr_destroy (*p_dnnl_primitive_attr_destroy)
#define dnnl_primitive_attr_set_post_ops (*p_dnnl_primitive_attr_set_post_ops)
#define cblas_sgemm (*p_cblas_sgemm)
#define openblas_set_num_threads (*p_openblas_set_num_threads)
#define omp_set_num_threads (*p_omp_set_num_threads)

static dnnl_engine_t engine;
static dnnl_stream_t stream;

// open_lib opens the first of names that loads.
static void *open_lib(const char *const *names) {
    for (; *names; names++) {
        void *h = dlopen(*names, RTLD_NOW | RTLD_GLOBAL);
        if (h) return h;
    }
    return NULL;
}

int tf_init(char *err, int errlen) {
    static const char *const dnnl_names[] = {"libdnnl.so.2", "libdnnl.so", NULL};
    static const char *const blas_names[] = {"libopenblas.so.0", "libopenblas.so", NULL};
    void *dnnl = open_lib(dnnl_names), *blas = open_lib(blas_names);
    if (!dnnl || !blas) {
        snprintf(err, errlen, "cannot load %s", !dnnl ? "oneDNN (libdnnl.so.2)" : "OpenBLAS (libopenblas.so.0)");
        return 1;
    }
    void *h;
#define TF_LOAD(f)                                                   \
    if (!(p_##f = (__typeof__(p_##f))dlsym(h, #f))) {                \
        snprintf(err, errlen, "symbol %s not found", #f);            \
        return 1;                                                    \
    }
    h = dnnl;
    TF_OMP_FUNCS(TF_LOAD)
    h = RTLD_DEFAULT;
    TF_FUNCS(TF_LOAD)
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
        snprintf(err, errlen, "cannot create a oneDNN CPU engine");
        return 1;
    }
    return 0;
}

void tf_set_threads(int n) {
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

// A plan binds three roles, always in convolution order: source (or its
// gradient), weights (or their gradient), destination (or its gradient).
// When the primitive wants a role in another layout than the caller's, the
// role lives in a scratch buffer and gets a reorder to or from the
// caller's layout.
typedef struct {
    int arg;          // DNNL_ARG_*
    int is_output;
    dnnl_memory_t user; // the caller's layout; data handle set per call
    dnnl_memory_t prim; // the primitive's layout (== user without reorder)
    dnnl_primitive_t reorder;
    size_t scratch_size;
    dnnl_memory_desc_t prim_md;
} tf_role;

struct tf_plan {
    dnnl_primitive_t conv;
    tf_role roles[3];
    dnnl_memory_t bias; // NULL without a bias
    char impl[64];
};

#define CHECK(call, what)                                                \
    do {                                                                 \
        dnnl_status_t st_ = (call);                                      \
        if (st_ != dnnl_success) {                                       \
            snprintf(err, errlen, "oneDNN %s failed (status %d)", what, (int)st_); \
            goto fail;                                                   \
        }                                                                \
    } while (0)

// same_strides reports whether strides match want on every axis longer
// than one (a length-one axis has no meaningful stride).
static int same_strides(int nd, const int64_t *dims, const int64_t *strides, const int64_t *want) {
    for (int i = 0; i < nd; i++)
        if (dims[i] > 1 && strides[i] != want[i]) return 0;
    return 1;
}

// activation_md describes an activation for the primitive: with blocked,
// the layout oneDNN prefers; otherwise the caller's own layout when it is
// dense channels-last or channels-first (which oneDNN's kernels take
// directly), or dense channels-last.
static dnnl_status_t activation_md(dnnl_memory_desc_t *md, int blocked, int nd, const int64_t *dims,
                                   const int64_t *strides) {
    if (blocked) return dnnl_memory_desc_init_by_tag(md, nd, dims, dnnl_f32, dnnl_format_tag_any);
    int64_t last[DNNL_MAX_NDIMS], first[DNNL_MAX_NDIMS];
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        first[i] = s;
        s *= dims[i];
    }
    s = 1;
    last[1] = s;
    s *= dims[1];
    for (int i = nd - 1; i >= 2; i--) {
        last[i] = s;
        s *= dims[i];
    }
    last[0] = s;
    if (same_strides(nd, dims, strides, last) || same_strides(nd, dims, strides, first))
        return dnnl_memory_desc_init_by_strides(md, nd, dims, dnnl_f32, strides);
    return dnnl_memory_desc_init_by_strides(md, nd, dims, dnnl_f32, last);
}

static void free_role(tf_role *r) {
    if (r->reorder) dnnl_primitive_destroy(r->reorder);
    if (r->prim && r->prim != r->user) dnnl_memory_destroy(r->prim);
    if (r->user) dnnl_memory_destroy(r->user);
}

void tf_plan_free(tf_plan *p) {
    if (!p) return;
    if (p->conv) dnnl_primitive_destroy(p->conv);
    if (p->bias) dnnl_memory_destroy(p->bias);
    for (int i = 0; i < 3; i++) free_role(&p->roles[i]);
    free(p);
}

// bind_role creates the role's memories, and a reorder when the primitive's
// layout differs from the caller's.
static dnnl_status_t bind_role(tf_role *r, const dnnl_memory_desc_t *user_md,
                               const dnnl_memory_desc_t *prim_md) {
    r->prim_md = *prim_md;
    dnnl_status_t st = dnnl_memory_create(&r->user, user_md, engine, DNNL_MEMORY_NONE);
    if (st != dnnl_success) return st;
    if (dnnl_memory_desc_equal(user_md, prim_md)) {
        r->prim = r->user;
        return dnnl_success;
    }
    size_t size = dnnl_memory_desc_get_size(prim_md);
    r->scratch_size = (size + 63) / 64 * 64;
    st = dnnl_memory_create(&r->prim, prim_md, engine, DNNL_MEMORY_NONE);
    if (st != dnnl_success) return st;
    dnnl_primitive_desc_t rpd;
    st = r->is_output ? dnnl_reorder_primitive_desc_create(&rpd, prim_md, engine, user_md, engine, NULL)
                      : dnnl_reorder_primitive_desc_create(&rpd, user_md, engine, prim_md, engine, NULL);
    if (st != dnnl_success) return st;
    st = dnnl_primitive_create(&r->reorder, rpd);
    dnnl_primitive_desc_destroy(rpd);
    return st;
}

// conv_geom is a convolution as tf_conv_plan receives it.
typedef struct {
    int nd;
    const int64_t *src_dims, *src_strides, *dst_dims, *dst_strides;
    const dnnl_memory_desc_t *wei_any;
    const int64_t *strides, *dil, *pad_lo, *pad_hi;
    int epilogue;
} conv_geom;

// forward_attr returns the attributes of a forward pass: a ReLU post-op
// when the epilogue asks for one, otherwise none (NULL).
static dnnl_status_t forward_attr(dnnl_primitive_attr_t *attr, int epilogue) {
    *attr = NULL;
    if (!(epilogue & 2)) return dnnl_success;
    dnnl_post_ops_t po;
    dnnl_status_t st = dnnl_post_ops_create(&po);
    if (st != dnnl_success) return st;
    st = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    if (st == dnnl_success) st = dnnl_primitive_attr_create(attr);
    if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(*attr, po);
    dnnl_post_ops_destroy(po);
    return st;
}

// conv_pd builds the primitive descriptor of a plan; with blocked set, the
// activations take the layout oneDNN prefers rather than the caller's.
static dnnl_status_t conv_pd(dnnl_primitive_desc_t *pd, int kind, int blocked, const conv_geom *g) {
    dnnl_memory_desc_t src_md, dst_md, bias_md;
    dnnl_status_t st = activation_md(&src_md, blocked, g->nd, g->src_dims, g->src_strides);
    if (st == dnnl_success) st = activation_md(&dst_md, blocked, g->nd, g->dst_dims, g->dst_strides);
    int with_bias = kind == TF_CONV_FWD && (g->epilogue & 1);
    if (st == dnnl_success && with_bias)
        st = dnnl_memory_desc_init_by_tag(&bias_md, 1, &g->dst_dims[1], dnnl_f32, dnnl_a);
    dnnl_convolution_desc_t fwd, cd;
    if (st == dnnl_success)
        st = dnnl_dilated_convolution_forward_desc_init(&fwd, dnnl_forward_training, dnnl_convolution_direct, &src_md,
                                                        g->wei_any, with_bias ? &bias_md : NULL, &dst_md, g->strides,
                                                        g->dil, g->pad_lo, g->pad_hi);
    if (st != dnnl_success) return st;
    if (kind == TF_CONV_FWD) {
        dnnl_primitive_attr_t attr;
        if ((st = forward_attr(&attr, g->epilogue)) != dnnl_success) return st;
        st = dnnl_primitive_desc_create(pd, &fwd, attr, engine, NULL);
        if (attr) dnnl_primitive_attr_destroy(attr);
        return st;
    }
    dnnl_primitive_desc_t fwd_pd;
    if ((st = dnnl_primitive_desc_create(&fwd_pd, &fwd, NULL, engine, NULL)) != dnnl_success) return st;
    if (kind == TF_CONV_BWD_DATA)
        st = dnnl_dilated_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &src_md, g->wei_any,
                                                              &dst_md, g->strides, g->dil, g->pad_lo, g->pad_hi);
    else
        st = dnnl_dilated_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &src_md, g->wei_any,
                                                                 NULL, &dst_md, g->strides, g->dil, g->pad_lo,
                                                                 g->pad_hi);
    if (st == dnnl_success) st = dnnl_primitive_desc_create(pd, &cd, NULL, engine, fwd_pd);
    dnnl_primitive_desc_destroy(fwd_pd);
    return st;
}

static const char *impl_of(const_dnnl_primitive_desc_t pd) {
    const char *impl = "";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return impl;
}

tf_plan *tf_conv_plan(int kind, int nd, const int64_t *src_dims, const int64_t *src_strides,
                      const int64_t *dst_dims, const int64_t *dst_strides, int64_t groups,
                      const int64_t *kernel, const int64_t *strides, const int64_t *dilations,
                      const int64_t *pad_lo, const int64_t *pad_hi, int epilogue, char *err, int errlen) {
    int sp = nd - 2;
    dnnl_primitive_desc_t pd = NULL;
    tf_plan *p = calloc(1, sizeof(tf_plan));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (kind < TF_CONV_FWD || kind > TF_CONV_BWD_WEIGHTS) {
        snprintf(err, errlen, "unknown convolution kind %d", kind);
        goto fail;
    }

    dnnl_memory_desc_t src_user, dst_user, wei_user, wei_any;
    CHECK(dnnl_memory_desc_init_by_strides(&src_user, nd, src_dims, dnnl_f32, src_strides), "source layout");
    CHECK(dnnl_memory_desc_init_by_strides(&dst_user, nd, dst_dims, dnnl_f32, dst_strides), "destination layout");

    // Weights: [G, O/G, I/G, k...] when grouped, [O, I, k...] otherwise.
    int64_t wdims[DNNL_MAX_NDIMS], wstrides[DNNL_MAX_NDIMS];
    int wnd = 0;
    if (groups > 1) wdims[wnd++] = groups;
    wdims[wnd++] = dst_dims[1] / groups;
    wdims[wnd++] = src_dims[1] / groups;
    for (int i = 0; i < sp; i++) wdims[wnd++] = kernel[i];
    int64_t s = 1;
    for (int i = wnd - 1; i >= 0; i--) {
        wstrides[i] = s;
        s *= wdims[i];
    }
    CHECK(dnnl_memory_desc_init_by_strides(&wei_user, wnd, wdims, dnnl_f32, wstrides), "weights layout");
    CHECK(dnnl_memory_desc_init_by_tag(&wei_any, wnd, wdims, dnnl_f32, dnnl_format_tag_any), "weights layout");

    int64_t dil[DNNL_MAX_NDIMS];
    for (int i = 0; i < sp; i++) dil[i] = dilations[i] - 1; // oneDNN counts from 0.

    // Activations come channels-last. Where oneDNN has brgemm kernels
    // (AVX-512) they take it directly. Its AVX2 kernels run channels-last
    // slower than its blocked layouts, by up to 4 times for the weights
    // gradient, which always pays for reordering the activations to and
    // from a blocked layout. For the forward and backward-data passes it
    // pays when both sides have 32 channels or more: measured on one AVX2
    // core, the blocked layout with its reorders takes 0.63 to 0.95 of the
    // time from 32 channels up (U-Net and conv-net shapes), but up to 1.3
    // (16 channels) and 2 to 4.5 times (1 to 3 channels, 2 outputs) below.
    int blocked = kind == TF_CONV_BWD_WEIGHTS;
    conv_geom g = {nd, src_dims, src_strides, dst_dims, dst_strides, &wei_any, strides, dil, pad_lo, pad_hi, epilogue};
    CHECK(conv_pd(&pd, kind, blocked, &g), "primitive descriptor");
    if (!blocked && groups == 1 && src_dims[1] >= 32 && dst_dims[1] >= 32 && strncmp(impl_of(pd), "brg", 3) != 0) {
        dnnl_primitive_desc_t alt;
        if (conv_pd(&alt, kind, 1, &g) == dnnl_success) {
            // Only a direct kernel is worth the reorders (not, say, a GEMM
            // on channels-first).
            int direct = strncmp(impl_of(alt), "jit", 3) == 0;
            dnnl_primitive_desc_destroy(direct ? pd : alt);
            if (direct) pd = alt;
        }
    }
    static const int args[3][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                                   {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST},
                                   {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST}};
    static const int output_role[3] = {2, 0, 1};
    p->roles[output_role[kind]].is_output = 1;
    const dnnl_memory_desc_t *user_mds[3] = {&src_user, &wei_user, &dst_user};
    for (int i = 0; i < 3; i++) {
        p->roles[i].arg = args[kind][i];
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, args[kind][i]);
        CHECK(md ? dnnl_success : dnnl_invalid_arguments, "layout query");
        CHECK(bind_role(&p->roles[i], user_mds[i], md), "memory binding");
    }
    if (kind == TF_CONV_FWD && (epilogue & 1)) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_BIAS);
        CHECK(md ? dnnl_success : dnnl_invalid_arguments, "bias layout query");
        CHECK(dnnl_memory_create(&p->bias, md, engine, DNNL_MEMORY_NONE), "bias memory");
    }
    snprintf(p->impl, sizeof p->impl, "%s", impl_of(pd));
    CHECK(dnnl_primitive_create(&p->conv, pd), "primitive creation");
    dnnl_primitive_desc_destroy(pd);
    return p;

fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    tf_plan_free(p);
    return NULL;
}

static dnnl_status_t run_reorder(tf_role *r) {
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, r->is_output ? r->prim : r->user},
                            {DNNL_ARG_TO, r->is_output ? r->user : r->prim}};
    return dnnl_primitive_execute(r->reorder, stream, 2, a);
}

// Scratch buffers, one per role, are shared by all plans: plans run one at
// a time on the worker thread, and a plan per convolution shape, each with
// activations of its own, would otherwise hold hundreds of megabytes. They
// only grow, so their pages are faulted in once.
static void *scratch[3];
static size_t scratch_size[3];

static dnnl_status_t bind_scratch(int i, tf_role *r) {
    if (r->scratch_size > scratch_size[i]) {
        free(scratch[i]);
        scratch[i] = aligned_alloc(64, r->scratch_size);
        scratch_size[i] = scratch[i] ? r->scratch_size : 0;
        if (!scratch[i]) return dnnl_out_of_memory;
    }
    return dnnl_memory_set_data_handle(r->prim, scratch[i]);
}

// blocked_tag is the 8-channel blocked layout of an activation with nd
// axes, or dnnl_format_tag_undef.
static dnnl_format_tag_t blocked_tag(int nd) {
    switch (nd) {
    case 3: return dnnl_aBc8b;
    case 4: return dnnl_aBcd8b;
    case 5: return dnnl_aBcde8b;
    }
    return dnnl_format_tag_undef;
}

// is_blocked reports whether md is the 8-channel blocked layout of its dims
// without padding, so that it holds exactly as many values as a dense one.
static int is_blocked(const dnnl_memory_desc_t *md) {
    dnnl_format_tag_t tag = blocked_tag(md->ndims);
    dnnl_memory_desc_t want;
    if (tag == dnnl_format_tag_undef || md->dims[1] % 8 != 0 ||
        dnnl_memory_desc_init_by_tag(&want, md->ndims, md->dims, md->data_type, tag) != dnnl_success)
        return 0;
    return dnnl_memory_desc_equal(md, &want);
}

int tf_plan_blocked(const tf_plan *p, int role) {
    const tf_role *r = &p->roles[role];
    return r->reorder != NULL && is_blocked(&r->prim_md);
}

int tf_plan_exec(tf_plan *p, float *src, float *wei, float *dst, float *bias, int direct) {
    float *data[3] = {src, wei, dst};
    dnnl_exec_arg_t args[4];
    int nargs = 3;
    dnnl_status_t st = dnnl_success;
    for (int i = 0; i < 3; i += 2)
        if ((direct >> i & 1) && !tf_plan_blocked(p, i)) return (int)dnnl_invalid_arguments;
    for (int i = 0; i < 3 && st == dnnl_success; i++) {
        tf_role *r = &p->roles[i];
        args[i].arg = r->arg;
        args[i].memory = r->prim;
        if (direct >> i & 1) {
            st = dnnl_memory_set_data_handle(r->prim, data[i]);
            continue;
        }
        st = dnnl_memory_set_data_handle(r->user, data[i]);
        if (st == dnnl_success && r->reorder) st = bind_scratch(i, r);
        if (st == dnnl_success && r->reorder && !r->is_output) st = run_reorder(r);
    }
    if (st == dnnl_success && p->bias) {
        st = dnnl_memory_set_data_handle(p->bias, bias);
        args[nargs].arg = DNNL_ARG_BIAS;
        args[nargs++].memory = p->bias;
    }
    if (st == dnnl_success) st = dnnl_primitive_execute(p->conv, stream, nargs, args);
    for (int i = 0; i < 3 && st == dnnl_success; i++)
        if (p->roles[i].reorder && p->roles[i].is_output && !(direct >> i & 1)) st = run_reorder(&p->roles[i]);
    if (st == dnnl_success) st = dnnl_stream_wait(stream);
    // The caller's buffers are Go memory: no handle to them may outlive the call.
    for (int i = 0; i < 3; i++) {
        dnnl_memory_set_data_handle(p->roles[i].user, DNNL_MEMORY_NONE);
        if (direct >> i & 1) dnnl_memory_set_data_handle(p->roles[i].prim, DNNL_MEMORY_NONE);
    }
    if (p->bias) dnnl_memory_set_data_handle(p->bias, DNNL_MEMORY_NONE);
    return (int)st;
}

size_t tf_plan_weights_size(const tf_plan *p) { return dnnl_memory_desc_get_size(&p->roles[1].prim_md); }

int tf_plan_weights(tf_plan *p, const float *dense, float *out) {
    tf_role *r = &p->roles[1];
    if (!r->reorder) {
        memcpy(out, dense, dnnl_memory_desc_get_size(&r->prim_md));
        return 0;
    }
    dnnl_status_t st = dnnl_memory_set_data_handle(r->user, (void *)dense);
    if (st == dnnl_success) st = dnnl_memory_set_data_handle(r->prim, out);
    if (st == dnnl_success) st = run_reorder(r);
    if (st == dnnl_success) st = dnnl_stream_wait(stream);
    dnnl_memory_set_data_handle(r->user, DNNL_MEMORY_NONE);
    dnnl_memory_set_data_handle(r->prim, DNNL_MEMORY_NONE);
    return (int)st;
}

struct tf_unblock {
    dnnl_primitive_t reorder;
    dnnl_memory_t from, to;
};

void tf_unblock_free(tf_unblock *u) {
    if (!u) return;
    if (u->reorder) dnnl_primitive_destroy(u->reorder);
    if (u->from) dnnl_memory_destroy(u->from);
    if (u->to) dnnl_memory_destroy(u->to);
    free(u);
}

tf_unblock *tf_unblock_plan(int nd, const int64_t *dims, const int64_t *strides, int u8, char *err, int errlen) {
    dnnl_primitive_desc_t pd = NULL;
    tf_unblock *p = calloc(1, sizeof(tf_unblock));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    dnnl_data_type_t dt = u8 ? dnnl_u8 : dnnl_f32;
    dnnl_memory_desc_t from, to;
    CHECK(dnnl_memory_desc_init_by_tag(&from, nd, dims, dt, blocked_tag(nd)), "blocked layout");
    CHECK(is_blocked(&from) ? dnnl_success : dnnl_invalid_arguments, "blocked layout");
    CHECK(dnnl_memory_desc_init_by_strides(&to, nd, dims, dt, strides), "plain layout");
    CHECK(dnnl_memory_create(&p->from, &from, engine, DNNL_MEMORY_NONE), "memory");
    CHECK(dnnl_memory_create(&p->to, &to, engine, DNNL_MEMORY_NONE), "memory");
    CHECK(dnnl_reorder_primitive_desc_create(&pd, &from, engine, &to, engine, NULL), "reorder descriptor");
    CHECK(dnnl_primitive_create(&p->reorder, pd), "reorder creation");
    dnnl_primitive_desc_destroy(pd);
    return p;

fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    tf_unblock_free(p);
    return NULL;
}

int tf_unblock_exec(tf_unblock *u, void *from, void *to) {
    dnnl_status_t st = dnnl_memory_set_data_handle(u->from, from);
    if (st == dnnl_success) st = dnnl_memory_set_data_handle(u->to, to);
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, u->from}, {DNNL_ARG_TO, u->to}};
    if (st == dnnl_success) st = dnnl_primitive_execute(u->reorder, stream, 2, a);
    if (st == dnnl_success) st = dnnl_stream_wait(stream);
    dnnl_memory_set_data_handle(u->from, DNNL_MEMORY_NONE);
    dnnl_memory_set_data_handle(u->to, DNNL_MEMORY_NONE);
    return (int)st;
}

const char *tf_plan_impl(const tf_plan *p) { return p->impl; }

void tf_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

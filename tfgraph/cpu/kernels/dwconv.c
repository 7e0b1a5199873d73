//go:build cgo && !nodnnl

// Depthwise 2-D convolution with channels innermost, for the shapes oneDNN
// 2.6 has no direct kernel for on AVX2 and runs on its GEMM-based
// fallback: DeepLab's atrous branches (dilation 6 to 18 on a 16x16 map,
// 2048 channels, batch 4) took 190 to 310 ms a call there, 4 to 8 ms here.
// Where oneDNN's depthwise kernel applies it stays: it is 1.5 to 2.5 times
// faster than this loop.
#pragma GCC optimize("O3", "no-math-errno")

#include "dnnl_glue.h"

#include <string.h>

__attribute__((target_clones("arch=haswell", "default"))) void tf_dwconv(const tf_dw *g, int r0, int r1,
                                                                         const float *restrict x,
                                                                         const float *restrict w,
                                                                         const float *restrict bias,
                                                                         float *restrict y) {
    const long c = g->c;
    for (int r = r0; r < r1; r++) {
        const int n = r / g->oh, i = r % g->oh;
        for (int j = 0; j < g->ow; j++) {
            float *restrict out = y + n * g->ysn + i * g->ysh + j * g->ysw;
            if (bias)
                memcpy(out, bias, c * sizeof(float));
            else
                memset(out, 0, c * sizeof(float));
            for (int ki = 0; ki < g->kh; ki++) {
                const int ih = i * g->sh - g->pt + ki * g->dh;
                if (ih < 0 || ih >= g->ih) continue;
                for (int kj = 0; kj < g->kw; kj++) {
                    const int iw = j * g->sw - g->pl + kj * g->dw;
                    if (iw < 0 || iw >= g->iw) continue;
                    const float *restrict in = x + n * g->xsn + ih * g->xsh + iw * g->xsw;
                    const float *restrict tap = w + (ki * g->kw + kj) * c;
                    for (long k = 0; k < c; k++) out[k] += in[k] * tap[k];
                }
            }
            if (g->relu)
                for (long k = 0; k < c; k++) out[k] = out[k] > 0.0f ? out[k] : 0.0f;
        }
    }
}

/* kernels_conv_direct.h — direct float convolution (kernels_conv_direct.c): the
 * path Conv takes for 1-D and 2-D convolutions that need an im2col copy,
 * instead of im2col + sgemm. Internal to the interpreter. */
#ifndef ECC_KERNELS_CONV_DIRECT_H
#define ECC_KERNELS_CONV_DIRECT_H

#include "kernel_window.h"

/* The instruction-set variant in use: "avx512", "avx2" or "base"; "off"
 * when Conv uses im2col + sgemm throughout. Chosen from the CPU at the
 * first use. */
const char *ecc_conv_direct_variant(void);
/* Selects a variant by name ("auto": from the CPU, as by default; "off"
 * disables the direct path). False, with nothing changed, for an unknown
 * name or one the CPU cannot run. For tests and benches; not thread-safe
 * against running convolutions. */
bool ecc_conv_direct_select(const char *name);

/* Whether the direct path takes geometry g (1-D or 2-D). */
bool ecc_conv_direct_applies(const ecc_window *g);

/* Floats of the packed weights (all groups) and of one padded image-group
 * plane; false when a size overflows. */
bool ecc_conv_direct_sizes(const ecc_window *g, int64_t *packed, int64_t *plane);
/* w [M, C/group, kh, kw] into blocks of output channels, zero-filled past
 * each group's last channel. */
void ecc_conv_direct_pack(const ecc_window *g, const float *w, float *packed);
/* One image-group x [C/group, H, W] into its zero-padded plane. */
void ecc_conv_direct_pad(const ecc_window *g, const float *x, float *plane);
/* Rows of one image-group's output y [M/group, OH, OW] in group gr: a row
 * is one output row of one block of output channels; there are
 * ecc_conv_direct_rows(g) of them. packed and bias (which may be NULL) are
 * the whole layer's. accumulate: add into y instead of storing. */
int64_t ecc_conv_direct_rows(const ecc_window *g);
void ecc_conv_direct_run(const ecc_window *g, int64_t gr, const float *plane,
                         const float *packed, const float *bias, float *y, int64_t row_begin,
                         int64_t row_end, bool accumulate);

/* dW of a Conv by direct tiles (when ecc_conv_direct_applies): each image-
 * group's padded plane (ecc_conv_direct_pad, planes one after another in
 * (image, group) order) and its dY transposed to [OH*OW][ld] (ld =
 * ecc_conv_direct_dw_ld, channels past M/group zero; ecc_conv_direct_dyt
 * from dY [M/group, OH, OW]); then tasks [begin, end) of
 * ecc_conv_direct_dw_tasks(g), each a block of output channels x a few
 * weight columns over every image in order, add into dw [M, C/group*k]. A
 * dW element sums its image's positions in order, then the images in
 * order, whatever the threads. */
int64_t ecc_conv_direct_dw_ld(const ecc_window *g);
void ecc_conv_direct_dyt(const ecc_window *g, const float *dy, float *dyt);
int64_t ecc_conv_direct_dw_tasks(const ecc_window *g);
void ecc_conv_direct_dw_run(const ecc_window *g, const float *planes, const float *dyt,
                            float *dw, int64_t task_begin, int64_t task_end);

#endif

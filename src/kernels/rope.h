/* rope.h: rotary position embeddings in Hugging Face's layout (each head's
 * first half rotated against its second half, "rotate_half"), with the
 * frequency tables of the rope types LLM configs name. */
#ifndef PIFI_ROPE_H
#define PIFI_ROPE_H

#include <stddef.h>

typedef struct {
    int type;               /* ROPE_DEFAULT, ROPE_LLAMA3, ROPE_LINEAR */
    double theta;           /* rope_theta */
    double factor;          /* rope_scaling.factor */
    double low_freq_factor; /* llama3 */
    double high_freq_factor;/* llama3 */
    int orig_max_pos;       /* llama3: original_max_position_embeddings */
} RopeParams;

enum { ROPE_DEFAULT, ROPE_LLAMA3, ROPE_LINEAR };

/* inv_freq (HD/2) for head size HD. */
void rope_inv_freq(float *inv_freq, const RopeParams *p, int HD);

/* Rotate in place x (B, T, NH, HD) at positions pos (B, T) (NULL: 0..T-1). */
void rope_forward(float *x, const int *pos, const float *inv_freq, int B, int T, int NH, int HD);

/* In place: dx (B, T, NH, HD) from dL/d(rotated x) to dL/dx. The rotation is
 * orthogonal, so this is the inverse rotation (angle -p inv_freq). */
void rope_backward(float *dx, const int *pos, const float *inv_freq, int B, int T, int NH, int HD);

/* The same on rows of stride floats (token (b, t) at x + (b T + t) stride)
 * of which the first NH HD are rotated: the query and key heads of a packed
 * q | k | v row (ModernBERT's Wqkv: stride 3C, NH 2 heads). */
void rope_forward_rows(float *x, size_t stride, const int *pos, const float *inv_freq, int B, int T, int NH,
                       int HD);
void rope_backward_rows(float *dx, size_t stride, const int *pos, const float *inv_freq, int B, int T, int NH,
                        int HD);

#endif

/* onnx_internal.h: what the ONNX exporter's files share. The encoder part
 * (onnx_bert.c) turns input ids, mask and token types into the last hidden
 * states; onnx_export.c adds pooling, the PiFi layer and the head. */
#ifndef PIFI_ONNX_INTERNAL_H
#define PIFI_ONNX_INTERNAL_H

#include "onnx/onnx_graph.h"
#include "pifi/encoder.h"
#include "pifi/encoder_export.h"

/* Value names of the encoder's inputs: ids, mask, types (B, T) INT64;
 * types NULL when the model has none. */
typedef struct {
    const char *ids, *mask, *types;
} OnnxEncoderInputs;

/* The BERT family's encoder (bert, roberta, electra) as nodes of g, its
 * weights views of x (encoder_export of m, which must outlive the write):
 * returns the value name of the last hidden states (B, T, C), NULL on
 * failure (err says why). */
const char *onnx_bert_encoder(OnnxGraph *g, const Encoder *m, const EncoderExport *x, const OnnxEncoderInputs *in,
                              PifiErr *err);

/* Shared pieces: y = x W^T + b for W (out, in) (b NULL: none), named
 * weights; LayerNormalization over the last axis; an activation
 * (kernels/activation.h's Activation) built from primitive ops. */
const char *onnx_linear(OnnxGraph *g, const char *x, const char *wname, const float *w, const float *b, int64_t out,
                        int64_t in);
const char *onnx_layernorm(OnnxGraph *g, const char *x, const char *name, const float *w, const float *b, int64_t n,
                           float eps);
const char *onnx_activation(OnnxGraph *g, int act, const char *x);

#endif

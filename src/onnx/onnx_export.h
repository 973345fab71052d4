/* onnx_export.h: a trained run's whole classifier as one ONNX graph
 * (`pifi export RUN --format onnx`): inputs input_ids, attention_mask (and
 * token_type_ids when the encoder has token types), INT64 (batch, sequence),
 * both axes dynamic; output logits FLOAT (batch, classes). Encoder, pooling
 * (cls, mean, last), L_in, the plugged layer in pooled mode, L_out and the
 * head, fp32 weights, opset ONNX_OPSET; the run's tokenizer files are
 * copied next to the model. */
#ifndef PIFI_ONNX_EXPORT_H
#define PIFI_ONNX_EXPORT_H

#include "pifi/err.h"

typedef struct {
    int classes;        /* K */
    int has_types;      /* a token_type_ids input */
    long long initializers, nodes;
    double megabytes;   /* of the written model */
} OnnxExportInfo;

/* Write run_dir's classifier to out_path (atomically) and its tokenizer
 * files to out_path's directory. info may be NULL. */
int onnx_export_run(const char *run_dir, const char *out_path, OnnxExportInfo *info, PifiErr *err);

#endif

/* onnx_graph.h: an ONNX graph built node by node and written with
 * protobuf-c (the message types generated at build time from Debian's
 * onnx.proto, libonnx-dev): the model protobuf is never encoded by hand.
 *
 * Every name, node, attribute and copied tensor lives in the graph's arena
 * and goes with og_free. Tensors added by og_weight are views: the caller
 * keeps their data alive until og_write returns. Value names are made
 * unique by the builder ("t17"); initializers keep the names given. */
#ifndef PIFI_ONNX_GRAPH_H
#define PIFI_ONNX_GRAPH_H

#include <stdint.h>

#include "pifi/err.h"

typedef struct OnnxGraph OnnxGraph;

/* The opset the graphs use: LayerNormalization and the Unsqueeze/ReduceSum
 * with axes as inputs are there. */
#define ONNX_OPSET 17

OnnxGraph *og_new(const char *graph_name);
void og_free(OnnxGraph *g);
/* The first failure (out of memory) sticks: og_write reports it. */
int og_failed(const OnnxGraph *g);

/* A graph input or output: FLOAT (1) or INT64 (7) with ndim dims, each
 * a fixed size (> 0) or named symbolic (dim_names[i] non-NULL). */
enum { ONNX_FLOAT = 1, ONNX_INT64 = 7 };
void og_input(OnnxGraph *g, const char *name, int elem, int ndim, const int64_t *dims, const char *const *dim_names);
void og_output(OnnxGraph *g, const char *name, int elem, int ndim, const int64_t *dims,
               const char *const *dim_names);

/* Initializers. og_weight: fp32 data (a view) of shape dims, named name.
 * og_weight_t: the transpose of w (rows, cols) (copied), shape (cols, rows):
 * x @ og_weight_t(W) is PyTorch's x W^T. og_i64 / og_f32: small constants
 * (copied); ndim 0 makes a scalar. Each returns the name. */
const char *og_weight(OnnxGraph *g, const char *name, const float *data, int ndim, const int64_t *dims);
const char *og_weight_t(OnnxGraph *g, const char *name, const float *w, int64_t rows, int64_t cols);
const char *og_weight_copy(OnnxGraph *g, const char *name, const float *data, int ndim, const int64_t *dims);
const char *og_i64(OnnxGraph *g, int ndim, const int64_t *v, int64_t n);
const char *og_f32(OnnxGraph *g, float v);

/* A node of op_type with nin inputs and one output (a fresh name, returned);
 * attributes added to the node og_node made last. */
const char *og_node(OnnxGraph *g, const char *op, int nin, const char *const *in);
void og_attr_i(OnnxGraph *g, const char *name, int64_t v);
void og_attr_f(OnnxGraph *g, const char *name, float v);
void og_attr_ints(OnnxGraph *g, const char *name, int n, const int64_t *v);
/* Rename the last node's output (a graph output's name). */
void og_name_output(OnnxGraph *g, const char *name);

/* Shorthands for one- and two-input nodes. */
const char *og_op1(OnnxGraph *g, const char *op, const char *a);
const char *og_op2(OnnxGraph *g, const char *op, const char *a, const char *b);

/* How many nodes and initializers g holds. */
void og_counts(const OnnxGraph *g, long long *nodes, long long *initializers);

/* Metadata (model.metadata_props). */
void og_meta(OnnxGraph *g, const char *key, const char *value);

/* The model (IR version 8, opset ONNX_OPSET, producer "pifi" version)
 * into path: a temp file next to it, fsync, rename. */
int og_write(OnnxGraph *g, const char *path, const char *producer_version, PifiErr *err);

#endif

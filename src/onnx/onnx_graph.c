/* onnx_graph.c: the ONNX graph builder of onnx_graph.h over protobuf-c's
 * generated onnx.pb-c.h. Growing arrays of message pointers, one arena for
 * everything, and a protobuf-c buffer that streams the packed model into an
 * atomic file. */
#include "onnx/onnx_graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "pifi/fileio.h"

/* ------------------------------------------------------------------------ */
/* arena: blocks freed together */

typedef struct Block {
    struct Block *next;
    max_align_t data[];
} Block;

struct OnnxGraph {
    Block *blocks;
    int failed;
    int next_id;
    Onnx__GraphProto graph;
    Onnx__StringStringEntryProto **meta;
    size_t n_meta, cap_meta;
    size_t cap_node, cap_init, cap_in, cap_out;
    Onnx__NodeProto *last;
    size_t cap_attr; /* of last */
};

static void *alloc(OnnxGraph *g, size_t n) {
    if (g->failed) return NULL;
    Block *b = calloc(1, sizeof(Block) + n);
    if (!b) {
        g->failed = 1;
        return NULL;
    }
    b->next = g->blocks;
    g->blocks = b;
    return b->data;
}

static char *str(OnnxGraph *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? alloc(g, (size_t)n + 1) : NULL;
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Append p to the array *arr of *n (capacity *cap), grown by doubling. The
 * arrays themselves are malloc'd (freed in og_free), not arena blocks. */
static void push(OnnxGraph *g, void ***arr, size_t *n, size_t *cap, void *p) {
    if (g->failed || !p) {
        g->failed = 1;
        return;
    }
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        void **a = realloc(*arr, nc * sizeof *a);
        if (!a) {
            g->failed = 1;
            return;
        }
        *arr = a, *cap = nc;
    }
    (*arr)[(*n)++] = p;
}

#define PUSH(g, arr, n, cap, p) push((g), (void ***)&(arr), &(n), &(cap), (p))

OnnxGraph *og_new(const char *graph_name) {
    OnnxGraph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    Onnx__GraphProto init = ONNX__GRAPH_PROTO__INIT;
    g->graph = init;
    g->graph.name = str(g, "%s", graph_name);
    return g;
}

void og_free(OnnxGraph *g) {
    if (!g) return;
    for (Block *b = g->blocks, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(g->graph.node);
    free(g->graph.initializer);
    free(g->graph.input);
    free(g->graph.output);
    free(g->meta);
    /* attribute arrays of nodes are arena blocks */
    free(g);
}

int og_failed(const OnnxGraph *g) { return g->failed; }

/* ------------------------------------------------------------------------ */
/* inputs and outputs */

static Onnx__ValueInfoProto *value_info(OnnxGraph *g, const char *name, int elem, int ndim, const int64_t *dims,
                                        const char *const *dim_names) {
    Onnx__ValueInfoProto *v = alloc(g, sizeof *v);
    Onnx__TypeProto *t = alloc(g, sizeof *t);
    Onnx__TypeProto__Tensor *tt = alloc(g, sizeof *tt);
    Onnx__TensorShapeProto *sh = alloc(g, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **d = alloc(g, (size_t)(ndim > 0 ? ndim : 1) * sizeof *d);
    if (!v || !t || !tt || !sh || !d) return NULL;
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__TypeProto ti = ONNX__TYPE_PROTO__INIT;
    Onnx__TypeProto__Tensor tti = ONNX__TYPE_PROTO__TENSOR__INIT;
    Onnx__TensorShapeProto shi = ONNX__TENSOR_SHAPE_PROTO__INIT;
    *v = vi, *t = ti, *tt = tti, *sh = shi;
    for (int i = 0; i < ndim; i++) {
        Onnx__TensorShapeProto__Dimension di = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        if (!(d[i] = alloc(g, sizeof *d[i]))) return NULL;
        *d[i] = di;
        if (dim_names && dim_names[i]) {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i]->dim_param = str(g, "%s", dim_names[i]);
        } else {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i]->dim_value = dims[i];
        }
    }
    sh->n_dim = (size_t)ndim, sh->dim = d;
    tt->has_elem_type = 1, tt->elem_type = elem, tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, t->tensor_type = tt;
    v->name = str(g, "%s", name), v->type = t;
    return v;
}

void og_input(OnnxGraph *g, const char *name, int elem, int ndim, const int64_t *dims,
              const char *const *dim_names) {
    PUSH(g, g->graph.input, g->graph.n_input, g->cap_in, value_info(g, name, elem, ndim, dims, dim_names));
}

void og_output(OnnxGraph *g, const char *name, int elem, int ndim, const int64_t *dims,
               const char *const *dim_names) {
    PUSH(g, g->graph.output, g->graph.n_output, g->cap_out, value_info(g, name, elem, ndim, dims, dim_names));
}

/* ------------------------------------------------------------------------ */
/* initializers */

static Onnx__TensorProto *tensor(OnnxGraph *g, const char *name, int elem, int ndim, const int64_t *dims) {
    Onnx__TensorProto *t = alloc(g, sizeof *t);
    int64_t *d = alloc(g, (size_t)(ndim > 0 ? ndim : 1) * sizeof *d);
    if (!t || !d) return NULL;
    Onnx__TensorProto ti = ONNX__TENSOR_PROTO__INIT;
    *t = ti;
    if (ndim > 0) memcpy(d, dims, (size_t)ndim * sizeof *d);
    t->n_dims = (size_t)ndim, t->dims = d;
    t->has_data_type = 1, t->data_type = elem;
    t->name = str(g, "%s", name);
    return t;
}

static int64_t numel(int ndim, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    return n;
}

static const char *add_raw(OnnxGraph *g, const char *name, int elem, int ndim, const int64_t *dims,
                           const void *data, size_t bytes) {
    Onnx__TensorProto *t = tensor(g, name, elem, ndim, dims);
    if (!t) {
        g->failed = 1;
        return NULL;
    }
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = (uint8_t *)data; /* packed, never freed through it */
    PUSH(g, g->graph.initializer, g->graph.n_initializer, g->cap_init, t);
    return t->name;
}

const char *og_weight(OnnxGraph *g, const char *name, const float *data, int ndim, const int64_t *dims) {
    return add_raw(g, name, ONNX_FLOAT, ndim, dims, data, (size_t)numel(ndim, dims) * sizeof(float));
}

const char *og_weight_copy(OnnxGraph *g, const char *name, const float *data, int ndim, const int64_t *dims) {
    size_t bytes = (size_t)numel(ndim, dims) * sizeof(float);
    float *c = alloc(g, bytes);
    if (!c) return NULL;
    memcpy(c, data, bytes);
    return add_raw(g, name, ONNX_FLOAT, ndim, dims, c, bytes);
}

const char *og_weight_t(OnnxGraph *g, const char *name, const float *w, int64_t rows, int64_t cols) {
    float *t = alloc(g, (size_t)(rows * cols) * sizeof(float));
    if (!t) return NULL;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
    int64_t dims[2] = {cols, rows};
    return add_raw(g, name, ONNX_FLOAT, 2, dims, t, (size_t)(rows * cols) * sizeof(float));
}

const char *og_i64(OnnxGraph *g, int ndim, const int64_t *v, int64_t n) {
    int64_t *c = alloc(g, (size_t)(n > 0 ? n : 1) * sizeof *c);
    if (!c) return NULL;
    memcpy(c, v, (size_t)n * sizeof *c);
    int64_t dims[1] = {n};
    char *name = str(g, "c%d", g->next_id++);
    return name ? add_raw(g, name, ONNX_INT64, ndim, dims, c, (size_t)n * sizeof *c) : NULL;
}

const char *og_f32(OnnxGraph *g, float v) {
    float *c = alloc(g, sizeof *c);
    char *name = str(g, "c%d", g->next_id++);
    if (!c || !name) return NULL;
    *c = v;
    return add_raw(g, name, ONNX_FLOAT, 0, NULL, c, sizeof *c);
}

/* ------------------------------------------------------------------------ */
/* nodes */

const char *og_node(OnnxGraph *g, const char *op, int nin, const char *const *in) {
    Onnx__NodeProto *n = alloc(g, sizeof *n);
    char **ins = alloc(g, (size_t)(nin > 0 ? nin : 1) * sizeof *ins);
    char **outs = alloc(g, sizeof *outs);
    if (!n || !ins || !outs) return NULL;
    Onnx__NodeProto ni = ONNX__NODE_PROTO__INIT;
    *n = ni;
    for (int i = 0; i < nin; i++) {
        if (!in[i]) { /* an input that failed to be made */
            g->failed = 1;
            return NULL;
        }
        ins[i] = (char *)in[i];
    }
    int id = g->next_id++;
    outs[0] = str(g, "t%d", id);
    n->n_input = (size_t)nin, n->input = ins;
    n->n_output = 1, n->output = outs;
    n->op_type = str(g, "%s", op);
    n->name = str(g, "%s_%d", op, id);
    PUSH(g, g->graph.node, g->graph.n_node, g->cap_node, n);
    g->last = g->failed ? NULL : n;
    g->cap_attr = 0;
    return g->failed ? NULL : outs[0];
}

static Onnx__AttributeProto *attr(OnnxGraph *g, const char *name, Onnx__AttributeProto__AttributeType type) {
    Onnx__NodeProto *n = g->last;
    Onnx__AttributeProto *a = alloc(g, sizeof *a);
    if (!n || !a) {
        g->failed = 1;
        return NULL;
    }
    Onnx__AttributeProto ai = ONNX__ATTRIBUTE_PROTO__INIT;
    *a = ai;
    a->name = str(g, "%s", name);
    a->has_type = 1, a->type = type;
    /* a node has a handful of attributes: a fresh arena array each time */
    Onnx__AttributeProto **arr = alloc(g, (n->n_attribute + 1) * sizeof *arr);
    if (!arr) return NULL;
    if (n->n_attribute) memcpy(arr, n->attribute, n->n_attribute * sizeof *arr);
    arr[n->n_attribute++] = a;
    n->attribute = arr;
    return a;
}

void og_attr_i(OnnxGraph *g, const char *name, int64_t v) {
    Onnx__AttributeProto *a = attr(g, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) a->has_i = 1, a->i = v;
}

void og_attr_f(OnnxGraph *g, const char *name, float v) {
    Onnx__AttributeProto *a = attr(g, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) a->has_f = 1, a->f = v;
}

void og_attr_ints(OnnxGraph *g, const char *name, int n, const int64_t *v) {
    Onnx__AttributeProto *a = attr(g, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *c = alloc(g, (size_t)(n > 0 ? n : 1) * sizeof *c);
    if (!a || !c) return;
    memcpy(c, v, (size_t)n * sizeof *c);
    a->n_ints = (size_t)n, a->ints = c;
}

void og_name_output(OnnxGraph *g, const char *name) {
    if (!g->last) {
        g->failed = 1;
        return;
    }
    g->last->output[0] = str(g, "%s", name);
}

const char *og_op1(OnnxGraph *g, const char *op, const char *a) { return og_node(g, op, 1, &a); }

const char *og_op2(OnnxGraph *g, const char *op, const char *a, const char *b) {
    const char *in[2] = {a, b};
    return og_node(g, op, 2, in);
}

void og_counts(const OnnxGraph *g, long long *nodes, long long *initializers) {
    *nodes = (long long)g->graph.n_node;
    *initializers = (long long)g->graph.n_initializer;
}

void og_meta(OnnxGraph *g, const char *key, const char *value) {
    Onnx__StringStringEntryProto *e = alloc(g, sizeof *e);
    if (!e) return;
    Onnx__StringStringEntryProto ei = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    *e = ei;
    e->key = str(g, "%s", key), e->value = str(g, "%s", value);
    PUSH(g, g->meta, g->n_meta, g->cap_meta, e);
}

/* ------------------------------------------------------------------------ */
/* writing */

typedef struct {
    ProtobufCBuffer base;
    PifiAtomicFile *f;
    PifiErr *err;
    int failed;
} FileBuffer;

static void file_append(ProtobufCBuffer *buf, size_t len, const uint8_t *data) {
    FileBuffer *fb = (FileBuffer *)buf;
    if (!fb->failed && pifi_atomic_write(fb->f, data, len, fb->err)) fb->failed = 1;
}

int og_write(OnnxGraph *g, const char *path, const char *producer_version, PifiErr *err) {
    if (g->failed) return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory building the ONNX graph", path);
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    op.domain = "", op.has_version = 1, op.version = ONNX_OPSET;
    Onnx__OperatorSetIdProto *ops[1] = {&op};
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1, m.ir_version = 8;
    m.n_opset_import = 1, m.opset_import = ops;
    m.producer_name = "pifi", m.producer_version = (char *)producer_version;
    m.graph = &g->graph;
    m.n_metadata_props = g->n_meta, m.metadata_props = g->meta;
    PifiAtomicFile f;
    if (pifi_atomic_open(&f, path, err)) return -1;
    FileBuffer fb = {{file_append}, &f, err, 0};
    onnx__model_proto__pack_to_buffer(&m, &fb.base);
    if (fb.failed) {
        pifi_atomic_abort(&f);
        return -1;
    }
    return pifi_atomic_commit(&f, err);
}

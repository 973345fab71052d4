/* fuzz_gguf_dequant.c: libFuzzer harness of the ggml block decoders
 * (src/io/gguf_dequant.c) and the Q/K row un-permutation, in memory. Byte 0
 * picks the ggml type, the rest is packed data: as many whole blocks as fit
 * are dequantized (types pifi cannot dequantize, or a count that is not a
 * multiple of the block size, must fail cleanly). Bytes 1..3 also choose
 * hostile (rows, cols, n_head) for gguf_unpermute_qk. */
#include "fuzz_common.h"
#include "pifi/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    GgmlType type = (GgmlType)(data[0] % (GGML_TYPE_COUNT + 2));
    const uint8_t *src = data + 1;
    size_t n = size - 1;
    int64_t bs = gguf_type_block_size(type), bb = gguf_type_block_bytes(type);
    PifiErr err = {0};
    if (bs > 0 && bb > 0) {
        if (!gguf_type_name(type)) fz_die("a type with a block size has no name");
        int64_t blocks = (int64_t)n / bb, elems = blocks * bs;
        /* an exact copy, so reading one byte past the blocks is caught */
        uint8_t *copy = malloc(blocks ? (size_t)(blocks * bb) : 1);
        float *dst = malloc((size_t)(elems ? elems : 1) * sizeof *dst);
        if (!copy || !dst) fz_die("out of memory");
        memcpy(copy, src, (size_t)(blocks * bb));
        if (gguf_dequantize(type, copy, dst, elems, "fuzz", &err)) {
            fz_check_err(&err, "gguf_dequantize");
            if (gguf_type_can_dequantize(type)) fz_die("dequantize failed on a supported type");
        }
        err.msg[0] = 0;
        if (bs > 1 && elems > 0 && gguf_dequantize(type, copy, dst, elems - 1, "fuzz", &err) == 0)
            fz_die("a count that is not a multiple of the block size was accepted");
        free(copy);
        free(dst);
    } else if (gguf_type_name(type) && type != GGML_TYPE_COUNT) {
        /* retired ids have no name; named ids all have a block size */
        fz_die("a named type without a block size");
    }
    if (size >= 4) {
        int64_t rows = data[1] % 65 - 1, cols = data[2] % 9, heads = (int8_t)data[3];
        int64_t cells = rows > 0 && cols > 0 ? rows * cols : 1;
        float *a = calloc((size_t)cells, sizeof *a), *b = calloc((size_t)cells, sizeof *b);
        if (!a || !b) fz_die("out of memory");
        err.msg[0] = 0;
        if (gguf_unpermute_qk(a, b, rows, cols, heads, &err)) fz_check_err(&err, "gguf_unpermute_qk");
        free(a);
        free(b);
    }
    return 0;
}

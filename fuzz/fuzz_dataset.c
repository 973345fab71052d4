/* fuzz_dataset.c: libFuzzer harness of the user's own dataset files
 * (src/data/generic.c: TSV, CSV with RFC 4180 quoting, JSONL; label maps;
 * the cp1252 fallback; the text cleaning). Byte 0 picks the format and the
 * options (bits 0-1 format: 0 TSV, 1 CSV, 2 JSONL; bit 2 no header, 3 skip
 * bad rows, 4 clean, 5 a pair column, 6 a generation file: a source and a
 * target column, no labels), the rest is
 * written to <tmp>/data.{tsv,csv,jsonl} and loaded with
 * dataset_load_generic; a file that loads is loaded again with the now
 * frozen label map (as a valid/test file would be). dataset_clean_text also
 * runs on the raw bytes. Built only once src/data/generic.c exists. */
#include "fuzz_common.h"
#include "pifi/dataset.h"

/* Whether s is NUL-terminated valid UTF-8 (no overlongs, no surrogates). */
static int valid_utf8(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0 || (n == 1 && c < 0xc2) || c > 0xf4) return 0;
        unsigned cp = n == 0 ? c : c & (0x3f >> n);
        for (int k = 1; k <= n; k++) {
            if ((p[k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (p[k] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* A generation file's rows: sources and targets, no classes. */
static void check_targets(const PifiDataset *ds) {
    if (ds->n <= 0 || !ds->target || ds->num_classes != 0 || ds->text_pair) fz_die("a generation dataset's shape");
    for (int64_t i = 0; i < ds->n; i++) {
        if (!ds->text[i] || !*ds->text[i] || !valid_utf8(ds->text[i])) fz_die("a source is empty or not UTF-8");
        if (!ds->target[i] || !*ds->target[i] || !valid_utf8(ds->target[i])) fz_die("a target is empty or not UTF-8");
        if (ds->label[i] != -1) fz_die("a generation row with a label");
    }
}

static void check(const PifiDataset *ds, const PifiLabelMap *map) {
    if (ds->target) {
        check_targets(ds);
        return;
    }
    if (ds->n < 0 || ds->num_classes < 0) fz_die("negative counts");
    for (int64_t i = 0; i < ds->n; i++) {
        if (!ds->text[i] || !valid_utf8(ds->text[i])) fz_die("a text is not valid UTF-8");
        if (ds->text_pair && (!ds->text_pair[i] || !valid_utf8(ds->text_pair[i])))
            fz_die("a pair text is not valid UTF-8");
        if (ds->label[i] < 0 || ds->label[i] >= ds->num_classes) fz_die("a label outside 0..num_classes-1");
    }
    for (int c = 0; c < ds->num_classes; c++)
        if (!ds->label_names || !ds->label_names[c]) fz_die("a class without a name");
    if (map->n < ds->num_classes) fz_die("label map has fewer classes than the dataset");
    if (ds->n > 0) {
        int64_t *counts = calloc((size_t)ds->num_classes + 1, sizeof *counts);
        if (!counts) fz_die("out of memory");
        dataset_label_counts(ds, counts);
        int64_t sum = 0;
        for (int c = 0; c < ds->num_classes; c++) sum += counts[c];
        if (sum != ds->n) fz_die("label counts do not add up to n");
        free(counts);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir(NULL);
    if (size < 1) return 0;
    uint8_t sel = data[0];
    static const char *const names[3] = {"data.tsv", "data.csv", "data.jsonl"};
    int fmt = (sel & 3) % 3;
    char *path = fz_write(dir, names[fmt], data + 1, size - 1);
    PifiGenericOpts o = {0};
    o.no_header = (sel >> 2) & 1;
    o.skip_bad_rows = (sel >> 3) & 1;
    o.clean = (sel >> 4) & 1;
    if ((sel >> 5) & 1) {
        o.text_col = o.no_header ? "0" : "premise";
        o.pair_col = o.no_header ? "1" : "hypothesis";
        o.label_col = o.no_header ? "2" : "label";
    } else if ((sel >> 6) & 1) {
        o.text_col = o.no_header ? "0" : "source";
        o.target_col = o.no_header ? "1" : "target";
    }
    PifiLabelMap map = {0};
    PifiDataset ds = {0}, again = {0};
    PifiErr err = {0};
    if (dataset_load_generic(path, &o, &map, &ds, &err)) {
        fz_check_err(&err, "dataset_load_generic");
    } else {
        check(&ds, &map);
        err.msg[0] = 0;
        if (dataset_load_generic(path, &o, &map, &again, &err)) fz_check_err(&err, "dataset_load_generic (frozen)");
        else if (again.n != ds.n) fz_die("the same file loaded twice gave different sizes");
        else check(&again, &map);
    }
    dataset_free(&ds);
    dataset_free(&again);
    label_map_free(&map);
    free(path);
    char *clean = dataset_clean_text((const char *)data, size);
    free(clean);
    return 0;
}

/* test_extract_8b.c: `pifi extract` on a checkpoint with the real shapes and
 * shard layout of Llama-3.1-8B (bf16, 4 shards, ~16 GB), made here as sparse
 * files (headers written, data left as holes). Extracting the last layer
 * (436 MB) must keep peak RSS <= 1.3 x the layer + 100 MB: only that layer's
 * bytes may be touched. Reports time and peak RSS. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pifi/fileio.h"
#include "pifi/safetensors.h"
#include "test.h"

/* Llama-3.1-8B */
enum { D = 4096, FF = 14336, L = 32, V = 128256, KV = 1024 };

typedef struct {
    char name[96];
    int64_t rows, cols; /* cols 0: 1-D */
    int shard;
} Spec;

static Spec specs[16 * L + 8];
static int nspec;

static void add(const char *name, int64_t rows, int64_t cols, int shard) {
    Spec *s = &specs[nspec++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->rows = rows, s->cols = cols, s->shard = shard;
}

/* Shards as in the published index: embeddings + layers 0-8 | 9-19 | 20-30 +
 * the attention of 31 | the rest of 31, the final norm and lm_head. */
static void layout(void) {
    add("model.embed_tokens.weight", V, D, 1);
    for (int l = 0; l < L; l++) {
        int sh = l <= 8 ? 1 : l <= 19 ? 2 : l <= 30 ? 3 : 4;
        int attn_sh = l == 31 ? 3 : sh;
        char n[96];
#define T(suffix, r, c, s) snprintf(n, sizeof n, "model.layers.%d.%s", l, suffix), add(n, r, c, s)
        T("self_attn.q_proj.weight", D, D, attn_sh);
        T("self_attn.k_proj.weight", KV, D, attn_sh);
        T("self_attn.v_proj.weight", KV, D, attn_sh);
        T("self_attn.o_proj.weight", D, D, attn_sh);
        T("mlp.gate_proj.weight", FF, D, sh);
        T("mlp.up_proj.weight", FF, D, sh);
        T("mlp.down_proj.weight", D, FF, sh);
        T("input_layernorm.weight", D, 0, sh);
        T("post_attention_layernorm.weight", D, 0, sh);
#undef T
    }
    add("model.norm.weight", D, 0, 4);
    add("lm_head.weight", V, D, 4);
}

static int write_shard(const char *dir, int shard, cJSON *weight_map) {
    char fname[64], path[1200];
    snprintf(fname, sizeof fname, "model-%05d-of-00004.safetensors", shard);
    snprintf(path, sizeof path, "%s/%s", dir, fname);
    cJSON *h = cJSON_CreateObject();
    int64_t off = 0;
    for (int i = 0; i < nspec; i++) {
        if (specs[i].shard != shard) continue;
        cJSON *t = cJSON_AddObjectToObject(h, specs[i].name);
        cJSON_AddStringToObject(t, "dtype", "BF16");
        cJSON *sh = cJSON_AddArrayToObject(t, "shape");
        cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)specs[i].rows));
        if (specs[i].cols) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)specs[i].cols));
        int64_t bytes = specs[i].rows * (specs[i].cols ? specs[i].cols : 1) * 2;
        cJSON *o = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(off + bytes)));
        off += bytes;
        cJSON_AddStringToObject(weight_map, specs[i].name, fname);
    }
    char *js = cJSON_PrintUnformatted(h);
    size_t n = strlen(js), padded = (n + 7) / 8 * 8;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    uint64_t hl = padded;
    int ok = fd >= 0 && write(fd, &hl, 8) == 8 && write(fd, js, n) == (ssize_t)n;
    for (size_t i = n; ok && i < padded; i++) ok = write(fd, " ", 1) == 1;
    ok = ok && ftruncate(fd, (off_t)(8 + padded + off)) == 0; /* the data: a hole */
    if (fd >= 0) close(fd);
    free(js);
    cJSON_Delete(h);
    return ok ? 0 : -1;
}

static void run(const char *bin) {
    char dir[1024], out[1100], cfgp[1100], idxp[1100];
    snprintf(dir, sizeof dir, "%s/llama31_8b_sparse", test_tmp());
    snprintf(out, sizeof out, "%s/llama31_8b_last", test_tmp());
    PifiErr err = {0};
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    layout();
    cJSON *index = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(index, "metadata");
    cJSON_AddNumberToObject(meta, "total_size", 16060522496.0);
    cJSON *wm = cJSON_AddObjectToObject(index, "weight_map");
    for (int s = 1; s <= 4; s++) REQUIRE(write_shard(dir, s, wm) == 0);
    char *ij = cJSON_Print(index);
    snprintf(idxp, sizeof idxp, "%s/model.safetensors.index.json", dir);
    REQUIRE(pifi_write_file_atomic(idxp, ij, strlen(ij), &err) == 0);
    free(ij);
    cJSON_Delete(index);
    const char *cfg =
        "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": 4096,"
        " \"intermediate_size\": 14336, \"num_hidden_layers\": 32, \"num_attention_heads\": 32,"
        " \"num_key_value_heads\": 8, \"rms_norm_eps\": 1e-05, \"rope_theta\": 500000.0,"
        " \"rope_scaling\": {\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0,"
        " \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"},"
        " \"max_position_embeddings\": 131072, \"vocab_size\": 128256, \"torch_dtype\": \"bfloat16\"}";
    snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
    REQUIRE(pifi_write_file_atomic(cfgp, cfg, strlen(cfg), &err) == 0);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "extract", "--llm", dir, "--layer", "-1", "-o", out, "--overwrite", (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    REQUIRE(wait4(pid, &status, 0, &ru) == pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pifi extract failed (status %d)", status);
    double layer_mb = (2.0 * D * D + 2.0 * KV * D + 3.0 * FF * D + 2.0 * D) * 2 / (1024.0 * 1024.0);
    double rss_mb = ru.ru_maxrss / 1024.0;
    double limit = 1.3 * layer_mb + 100.0;
    double secs = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    printf("Llama-3.1-8B-shaped checkpoint: last layer %.1f MiB extracted in %.2f s, peak RSS %.1f MiB "
           "(limit %.1f MiB)\n", layer_mb, secs, rss_mb, limit);
    CHECKF(rss_mb <= limit, "peak RSS %.1f MiB > %.1f MiB", rss_mb, limit);

    /* The output holds exactly layer 31, in bf16, under its source names. */
    SafeTensors *st;
    REQUIRE(st_open(&st, out, &err) == 0);
    CHECK(st_count(st) == 9);
    const StTensor *t;
    CHECK(st_get(st, "model.layers.31.mlp.down_proj.weight", &t, &err) == 0 && t->dtype == PIFI_DT_BF16 &&
          t->shape[0] == D && t->shape[1] == FF);
    CHECK(st_find(st, "model.layers.30.mlp.down_proj.weight", &t, &err) == 1);
    st_close(st);
    /* remove the 436 MB output and the sparse shards */
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", out, dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    const char *bin = getenv("PIFI_BIN");
    if (!bin) TEST_SKIP("PIFI_BIN not set");
    run(bin);
    TEST_DONE();
}

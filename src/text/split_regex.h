/* split_regex.h: the Split pre-tokenizers that Llama-3 and Qwen2 put before
 * a ByteLevel(use_regex = false), their regexes written out by hand with the
 * semantics of Oniguruma (what HF `tokenizers` runs; behavior Isolated):
 *
 *   llama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 *           | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   qwen2   the same with \p{N} (one digit) in place of \p{N}{1,3}
 *
 * The character classes are bytelevel.c's (\p{L}, \p{N}, \s = White_Space).
 * (?i:...) folds as Oniguruma does: besides ASCII case, U+017F (long s)
 * matches 's' (llama.cpp's hand-expanded [sS] does not; HF is followed).
 * The table SPLIT_REGEXES names each once: its tokenizer.json pattern and the
 * tokenizer.ggml.pre values llama.cpp maps to it. */
#ifndef PIFI_SPLIT_REGEX_H
#define PIFI_SPLIT_REGEX_H

#include <stddef.h>

typedef enum { SPLIT_NONE = 0, SPLIT_LLAMA3, SPLIT_QWEN2 } SplitRegex;

typedef struct {
    SplitRegex id;
    const char *name;          /* for messages */
    const char *pattern;       /* exactly as tokenizer.json writes the Regex */
    const char *gguf_pre[5];   /* tokenizer.ggml.pre values (llama.cpp's), NULL-terminated */
    int ignore_merges;         /* llama.cpp's BPE for these pre values: a whole piece in the vocabulary is one token */
} SplitRegexInfo;

extern const SplitRegexInfo SPLIT_REGEXES[];
extern const int SPLIT_REGEX_COUNT;

/* The row whose pattern is exactly pattern / that lists pre; NULL if none. */
const SplitRegexInfo *split_regex_by_pattern(const char *pattern);
const SplitRegexInfo *split_regex_by_gguf_pre(const char *pre);

/* The end of the regex match that starts at pos (pos < len; r not
 * SPLIT_NONE). The regex matches at every position, so the pieces
 * [0,e1), [e1,e2), ... tile text. */
size_t split_regex_next(SplitRegex r, const char *text, size_t len, size_t pos);

#endif

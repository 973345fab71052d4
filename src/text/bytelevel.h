/* bytelevel.h: the pieces of HF's ByteLevel pre-tokenizer and post-processor
 * that byte-level BPE (GPT-2, RoBERTa) needs:
 *   - GPT-2's bytes_to_unicode map (each byte is shown as one code point),
 *   - the GPT-2 regex split
 *       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *     written out by hand with the semantics of Oniguruma (what the Rust
 *     `tokenizers` uses): ordered alternatives, \s = Unicode White_Space,
 *   - the trim_offsets rule of ByteLevel/RobertaProcessing (process_offsets).
 * Text is UTF-8; a byte that does not start a valid sequence is treated as a
 * one-byte character of class "other" (the pipeline validates text first). */
#ifndef PIFI_BYTELEVEL_H
#define PIFI_BYTELEVEL_H

#include <stddef.h>
#include <stdint.h>

/* Character classes the GPT-2 regex distinguishes. */
typedef enum { BL_OTHER = 0, BL_LETTER, BL_NUMBER, BL_SPACE } BlClass;

BlClass bytelevel_class(int32_t cp);

/* The code point GPT-2's bytes_to_unicode shows byte b as (U+0021..U+00FF or
 * U+0100..U+0143), and its UTF-8 (1 or 2 bytes) written to out; returns the
 * byte count. */
uint32_t bytelevel_char(uint8_t b);
int bytelevel_utf8(uint8_t b, char out[2]);

/* Length in bytes of the UTF-8 character at text[pos] (pos < len); 1 for an
 * invalid byte. *cp gets the code point (-1 when invalid). */
size_t bytelevel_char_at(const char *text, size_t len, size_t pos, int32_t *cp);

/* The end of the GPT-2 regex match that starts at pos (pos < len). The regex
 * matches at every position, so the pieces [0,e1), [e1,e2), ... tile text. */
size_t bytelevel_next_piece(const char *text, size_t len, size_t pos);

/* HF process_offsets for one token of one sequence: shrink the byte offsets
 * [*start, *end) into text by the token's leading and trailing 'Ġ' (or
 * whitespace) characters, counted in characters of text as HF does (it trims
 * char offsets). is_first: the token is the sequence's first or starts at 0;
 * then with add_prefix_space a single leading 'Ġ' is kept. */
void bytelevel_trim_offsets(const char *text, size_t len, const char *token, int is_first,
                            int add_prefix_space, int32_t *start, int32_t *end);

#endif

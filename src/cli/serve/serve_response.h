/* serve_response.h: the JSON bodies `pifi serve` answers with, in
 * text-embeddings-inference's shapes:
 *
 *   /predict  [{"score":0.98,"label":"positive"},{"score":0.02,"label":"negative"}]
 *             (classes by score, highest first; a batch: one such list per input)
 *   /embed    [[0.01,-0.2,...], ...]  (one vector per input, unit length if normalize)
 *   /info     {"model_id":...,"model_type":{"classifier":{"id2label":...,"label2id":...}},...}
 *   errors    {"error":"...","error_type":"Validation"}
 *
 * Numbers are floats printed to round trip (%.9g). */
#ifndef PIFI_SERVE_RESPONSE_H
#define PIFI_SERVE_RESPONSE_H

#include "pifi.h"
#include "cli/serve/serve_buf.h"
#include "cli/serve/serve_error.h"
#include "cli/serve/serve_options.h"
#include "cli/serve/serve_request.h"

/* out: probs (n, K) then logits (n, K) (raw_scores: the logits); labels:
 * the K classes' names. -1 with e set (500) for a score that is not finite. */
int serve_response_predict(ServeBuf *b, const ServeRequest *r, const float *out, int K, const char *const *labels,
                           ServeError *e);
/* out: (n, dim) pooled vectors. -1 with e set for a vector not finite. */
int serve_response_embed(ServeBuf *b, const ServeRequest *r, const float *out, int dim, ServeError *e);
void serve_response_error(ServeBuf *b, const ServeError *e);
/* GET /info: the run (its task from config.json when there is one) and the
 * server's limits. */
void serve_response_info(ServeBuf *b, const pifi_run *run, const char *task, const ServeOptions *o);

#endif

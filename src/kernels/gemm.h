/* gemm.h: every matrix product in pifi goes through here, to oneDNN.
 *
 * Row-major throughout, as in llm.c. */
#ifndef PIFI_GEMM_H
#define PIFI_GEMM_H

/* C (M,N) = alpha * op(A) op(B) + beta * C, row-major, op = transpose when
 * ta/tb are nonzero. lda/ldb/ldc are row strides in elements. When sgemm
 * runs out of memory (a --max-memory budget, a full machine) the product is
 * computed by a plain loop; an accumulating one (beta 1) that sgemm left half
 * done cannot be, and is counted instead (gemm_f32_take_faults). */
void gemm_f32(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
/* Accumulating products left unfinished for lack of memory since the last
 * call, process-wide (the thread pool's workers run products too). The
 * models' passes check it and fail with an error when it is not 0. */
int gemm_f32_take_faults(void);

/* The linear layer of every model: out (BT, OC) = inp (BT, C) weight^T + bias,
 * weight (OC, C) as PyTorch stores it, bias (OC) or NULL. */
void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int BT,
                    int C, int OC);

/* Backward of matmul_forward, ACCUMULATING as llm.c does:
 *   dinp (BT, C) += dout (BT, OC) weight (OC, C)
 *   dweight (OC, C) += dout^T inp,  dbias (OC) += sum over rows of dout.
 * Any of dinp, dweight, dbias may be NULL: that gradient is skipped (frozen
 * weights, or an input nobody needs the gradient of). */
void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int BT, int C, int OC);

/* dst (C) += column sums of x (N, C), deterministic for any thread count. */
void colsum_add(float *dst, const float *x, int N, int C);

#endif

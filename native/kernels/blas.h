// The few BLAS functions the kernels (model.cc) call, with CBLAS's row-major argument
// meanings and unit vector strides. Two implementations: CBLAS (OpenBLAS) inline here for the
// addon, at no cost; and blas-simd.cc, portable 128-bit SIMD, for the WebAssembly build
// (compiled with RNN_BLAS_PORTABLE, where there is no CBLAS).
#pragma once

#ifndef RNN_BLAS_PORTABLE
#include <cblas.h>
#endif

namespace blas {

enum Transpose : bool { NoTrans = false, Trans = true };

#ifndef RNN_BLAS_PORTABLE

// C (M×N) = alpha·op(A) (M×K) · op(B) (K×N) + beta·C, all row-major.
inline void sgemm(Transpose trans_a, Transpose trans_b, int M, int N, int K, float alpha,
                  const float* A, int lda, const float* B, int ldb, float beta, float* C,
                  int ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// y = alpha·op(A)·x + beta·y, A row-major M×N (op(A) = Aᵀ when trans).
inline void sgemv(Transpose trans, int M, int N, float alpha, const float* A, int lda,
                  const float* x, float beta, float* y) {
  cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, M, N, alpha, A, lda, x, 1, beta,
              y, 1);
}

#else

void sgemm(Transpose trans_a, Transpose trans_b, int M, int N, int K, float alpha, const float* A,
           int lda, const float* B, int ldb, float beta, float* C, int ldc);

void sgemv(Transpose trans, int M, int N, float alpha, const float* A, int lda, const float* x,
           float beta, float* y);

#endif

}  // namespace blas

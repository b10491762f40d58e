// Portable single-precision sgemm / sgemv (blas.h) on 128-bit vectors, for the
// WebAssembly build, where there is no CBLAS. GCC/clang vector extensions, so clang turns them
// into wasm simd128 (-msimd128) and the same file also builds natively (for testing it against
// OpenBLAS). Written here because no BLAS for wasm32 is packaged in Debian or npm.
//
// sgemm is the usual Goto/BLIS layout, scaled down: op(B) is packed in panels of NR columns
// and op(A) in panels of MR rows (zero-padded, so the micro-kernel has no edge cases), both
// in blocks of KC steps of the inner dimension, and an MR × NR register block of C is
// accumulated over a whole KC block before it is added to C.
#include "blas.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace blas {

namespace {

typedef float v4 __attribute__((vector_size(16)));
typedef float v4u __attribute__((vector_size(16), aligned(4)));  // unaligned loads and stores

inline v4 load(const float* p) { return *reinterpret_cast<const v4u*>(p); }
inline void store(float* p, v4 v) { *reinterpret_cast<v4u*>(p) = v; }
inline v4 splat(float x) { return v4{x, x, x, x}; }

constexpr int MR = 4;    // rows of the register block
constexpr int NR = 8;    // columns of the register block: two vectors
constexpr int KC = 256;  // inner steps per packed block (a B panel of KC × NR is 8 KiB)
constexpr int MC = 64;   // rows of A packed at once (64 × 256 floats = 64 KiB)

// Element (i, j) of op(X), X row-major with leading dimension ld.
inline float at(const float* X, int ld, bool trans, int i, int j) {
  return trans ? X[static_cast<size_t>(j) * ld + i] : X[static_cast<size_t>(i) * ld + j];
}

// Packs op(B)[k0 .. k0+kc) × [j0 .. j0+nc) in panels of NR columns: panel p holds, for each k,
// the NR values of columns j0 + p·NR .., zero beyond nc.
void pack_b(const float* B, int ldb, bool trans, int k0, int kc, int j0, int nc, float* out) {
  for (int p = 0; p < nc; p += NR) {
    const int w = std::min(NR, nc - p);
    for (int k = 0; k < kc; ++k) {
      float* row = out + static_cast<size_t>(p) * kc + static_cast<size_t>(k) * NR;
      if (!trans && w == NR) {
        std::memcpy(row, B + static_cast<size_t>(k0 + k) * ldb + j0 + p, sizeof(float) * NR);
        continue;
      }
      for (int j = 0; j < NR; ++j) row[j] = j < w ? at(B, ldb, trans, k0 + k, j0 + p + j) : 0.0f;
    }
  }
}

// Packs op(A)[i0 .. i0+mc) × [k0 .. k0+kc) in panels of MR rows: panel p holds, for each k,
// the MR values of rows i0 + p·MR .., zero beyond mc.
void pack_a(const float* A, int lda, bool trans, int i0, int mc, int k0, int kc, float* out) {
  for (int p = 0; p < mc; p += MR) {
    const int h = std::min(MR, mc - p);
    float* panel = out + static_cast<size_t>(p) * kc;
    for (int k = 0; k < kc; ++k)
      for (int i = 0; i < MR; ++i)
        panel[k * MR + i] = i < h ? at(A, lda, trans, i0 + p + i, k0 + k) : 0.0f;
  }
}

// C[0..h) × [0..w) += alpha · (the MR × NR product of an A panel and a B panel over kc steps).
void micro_kernel(int kc, const float* a, const float* b, float alpha, float* C, int ldc, int h,
                  int w) {
  v4 c00 = splat(0), c01 = splat(0), c10 = splat(0), c11 = splat(0);
  v4 c20 = splat(0), c21 = splat(0), c30 = splat(0), c31 = splat(0);
  for (int k = 0; k < kc; ++k, a += MR, b += NR) {
    const v4 b0 = load(b), b1 = load(b + 4);
    v4 ai = splat(a[0]);
    c00 += ai * b0;
    c01 += ai * b1;
    ai = splat(a[1]);
    c10 += ai * b0;
    c11 += ai * b1;
    ai = splat(a[2]);
    c20 += ai * b0;
    c21 += ai * b1;
    ai = splat(a[3]);
    c30 += ai * b0;
    c31 += ai * b1;
  }
  const v4 s = splat(alpha);
  const v4 rows[MR][2] = {{c00 * s, c01 * s}, {c10 * s, c11 * s}, {c20 * s, c21 * s}, {c30 * s, c31 * s}};
  if (h == MR && w == NR) {
    for (int i = 0; i < MR; ++i) {
      float* c = C + static_cast<size_t>(i) * ldc;
      store(c, load(c) + rows[i][0]);
      store(c + 4, load(c + 4) + rows[i][1]);
    }
    return;
  }
  for (int i = 0; i < h; ++i) {
    float block[NR];
    store(block, rows[i][0]);
    store(block + 4, rows[i][1]);
    float* c = C + static_cast<size_t>(i) * ldc;
    for (int j = 0; j < w; ++j) c[j] += block[j];
  }
}

// C = beta·C (beta 0 writes zeros, as BLAS does: a NaN in C does not survive).
void scale(int M, int N, float beta, float* C, int ldc) {
  if (beta == 1.0f) return;
  for (int i = 0; i < M; ++i) {
    float* c = C + static_cast<size_t>(i) * ldc;
    if (beta == 0.0f)
      std::fill(c, c + N, 0.0f);
    else
      for (int j = 0; j < N; ++j) c[j] *= beta;
  }
}

inline float sum_lanes(v4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

// y[i] += alpha · (row i of A) · x for rows [0, M), four rows at a time (one load of x for four).
void gemv_rows(int M, int N, float alpha, const float* A, int lda, const float* x, float* y) {
  int i = 0;
  for (; i + 4 <= M; i += 4) {
    const float* a0 = A + static_cast<size_t>(i) * lda;
    const float *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    v4 s0 = splat(0), s1 = splat(0), s2 = splat(0), s3 = splat(0);
    int j = 0;
    for (; j + 4 <= N; j += 4) {
      const v4 xj = load(x + j);
      s0 += load(a0 + j) * xj;
      s1 += load(a1 + j) * xj;
      s2 += load(a2 + j) * xj;
      s3 += load(a3 + j) * xj;
    }
    float t0 = sum_lanes(s0), t1 = sum_lanes(s1), t2 = sum_lanes(s2), t3 = sum_lanes(s3);
    for (; j < N; ++j) {
      t0 += a0[j] * x[j];
      t1 += a1[j] * x[j];
      t2 += a2[j] * x[j];
      t3 += a3[j] * x[j];
    }
    y[i] += alpha * t0;
    y[i + 1] += alpha * t1;
    y[i + 2] += alpha * t2;
    y[i + 3] += alpha * t3;
  }
  for (; i < M; ++i) {
    const float* a = A + static_cast<size_t>(i) * lda;
    v4 s0 = splat(0);
    int j = 0;
    for (; j + 4 <= N; j += 4) s0 += load(a + j) * load(x + j);
    float t = sum_lanes(s0);
    for (; j < N; ++j) t += a[j] * x[j];
    y[i] += alpha * t;
  }
}

// y[0..N) += alpha · Σ_i x[i] · (row i of A), four rows at a time (one load and store of y for four).
void gemv_columns(int M, int N, float alpha, const float* A, int lda, const float* x, float* y) {
  int i = 0;
  for (; i + 4 <= M; i += 4) {
    const float* a0 = A + static_cast<size_t>(i) * lda;
    const float *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    const float c0 = alpha * x[i], c1 = alpha * x[i + 1], c2 = alpha * x[i + 2], c3 = alpha * x[i + 3];
    const v4 v0 = splat(c0), v1 = splat(c1), v2 = splat(c2), v3 = splat(c3);
    int j = 0;
    for (; j + 4 <= N; j += 4)
      store(y + j, load(y + j) + ((v0 * load(a0 + j) + v1 * load(a1 + j)) + (v2 * load(a2 + j) + v3 * load(a3 + j))));
    for (; j < N; ++j) y[j] += (c0 * a0[j] + c1 * a1[j]) + (c2 * a2[j] + c3 * a3[j]);
  }
  for (; i < M; ++i) {
    const float* a = A + static_cast<size_t>(i) * lda;
    const float c = alpha * x[i];
    const v4 v = splat(c);
    int j = 0;
    for (; j + 4 <= N; j += 4) store(y + j, load(y + j) + v * load(a + j));
    for (; j < N; ++j) y[j] += c * a[j];
  }
}

}  // namespace

void sgemm(Transpose trans_a, Transpose trans_b, int M, int N, int K, float alpha, const float* A,
           int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  scale(M, N, beta, C, ldc);
  if (K <= 0 || alpha == 0.0f) return;
  // Scratch kept between calls: the engine multiplies the same shapes over and over.
  static std::vector<float> packed_a, packed_b;
  const int kc_max = std::min(K, KC);
  const int n_padded = (N + NR - 1) / NR * NR;
  packed_b.resize(static_cast<size_t>(kc_max) * n_padded);
  packed_a.resize(static_cast<size_t>(kc_max) * ((std::min(M, MC) + MR - 1) / MR * MR));
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = std::min(KC, K - k0);
    pack_b(B, ldb, trans_b, k0, kc, 0, N, packed_b.data());
    for (int i0 = 0; i0 < M; i0 += MC) {
      const int mc = std::min(MC, M - i0);
      pack_a(A, lda, trans_a, i0, mc, k0, kc, packed_a.data());
      for (int j = 0; j < N; j += NR) {
        const float* b = packed_b.data() + static_cast<size_t>(j) * kc;
        for (int i = 0; i < mc; i += MR) {
          micro_kernel(kc, packed_a.data() + static_cast<size_t>(i) * kc, b, alpha,
                       C + static_cast<size_t>(i0 + i) * ldc + j, ldc, std::min(MR, mc - i),
                       std::min(NR, N - j));
        }
      }
    }
  }
}

void sgemv(Transpose trans, int M, int N, float alpha, const float* A, int lda, const float* x,
           float beta, float* y) {
  const int n_out = trans ? N : M;
  scale(1, n_out, beta, y, n_out);
  if (alpha == 0.0f) return;
  if (trans)
    gemv_columns(M, N, alpha, A, lda, x, y);
  else
    gemv_rows(M, N, alpha, A, lda, x, y);
}

}  // namespace blas

// Times the model's kernels alone, without Node: `kernel_bench FILE [hidden] [blocks]`. The
// DD2424 configuration (rnn::Model: rnn, 1 layer, 1 stream), forward_backward and AdaGrad, in
// alternating blocks of 500 calls, forward_backward walking the text T = 25 symbols a call; prints
// the median µs per call of each. Also a profiling target (perf record -e cpu-clock, valgrind
// --tool=callgrind); see docs/performance.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <vector>

#include <cblas.h>

#include "../kernels/model.h"

namespace {

// A byte-level vocabulary: enough for ASCII texts such as tinyshakespeare.
std::vector<int32_t> read_symbols(const char* file, int* K) {
  std::ifstream in(file, std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int index[256];
  std::fill(index, index + 256, -1);
  for (unsigned char b : bytes) index[b] = 0;
  *K = 0;
  for (int& i : index)
    if (i == 0) i = (*K)++;
  std::vector<int32_t> symbols(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) symbols[i] = index[bytes[i]];
  return symbols;
}

// The next window's start, walking the text T symbols a call.
struct Walk {
  size_t position = 0;
  size_t next(size_t length, int T) {
    if (position + T + 1 > length) position = 0;
    const size_t start = position;
    position += T;
    return start;
  }
};

struct Piece {
  const char* name;
  std::function<void()> run;
  std::vector<double> micros;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: kernel_bench FILE [hidden] [blocks]\n");
    return 2;
  }
  int K = 0;
  const std::vector<int32_t> text = read_symbols(argv[1], &K);
  const int m = argc > 2 ? std::atoi(argv[2]) : 100, T = 25;
  const int blocks = argc > 3 ? std::atoi(argv[3]) : 40, calls = 500;
  openblas_set_num_threads(1);

  const rnn::Shape shape{rnn::Cell::Rnn, K, m, 1};
  const size_t P = rnn::parameter_count(shape);
  std::vector<float> params(P, 0.0f), grads(P), second(P), h(m), c(m);
  std::mt19937 gen(42);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  for (const rnn::Parameter& p : rnn::layout(shape))
    if (p.shape.size() == 2)
      for (size_t i = p.offset; i < p.offset + p.length; ++i) params[i] = normal(gen);
  rnn::Model model(shape, 1, T);
  model.bind(params.data(), grads.data(), h.data(), c.data());
  const rnn::OptimizerSettings adagrad;  // η 0.1, ε 1e-8, clip 5

  Walk model_walk;
  std::vector<Piece> pieces = {
      {"model forward_backward", [&] {
         const size_t at = model_walk.next(text.size(), T);
         model.forward_backward(&text[at], &text[at + 1], T, true, 0, 0, 0);
       }, {}},
      {"model optimize (AdaGrad)", [&] {
         rnn::optimize(adagrad, P, params.data(), grads.data(), second.data(), nullptr, 1);
       }, {}},
  };
  for (int b = 0; b < blocks; ++b)
    for (Piece& piece : pieces) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < calls; ++i) piece.run();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      piece.micros.push_back(seconds / calls * 1e6);
    }
  std::printf("rnn m=%d K=%d T=%d, B=1: median µs per call over %d alternating blocks of %d\n", m, K, T, blocks, calls);
  for (Piece& piece : pieces) {
    std::sort(piece.micros.begin(), piece.micros.end());
    std::printf("  %-28s %8.2f\n", piece.name, piece.micros[piece.micros.size() / 2]);
  }
  return 0;
}

// Times rnn::train alone, without Node: `kernel_bench FILE [updates] [hidden]`. Used to profile
// the kernel (perf record -e cpu-clock, valgrind --tool=callgrind); see docs/performance.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include <cblas.h>

#include "../rnn.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: kernel_bench FILE [updates] [hidden]\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t updates = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 20000;
  const int m = argc > 3 ? std::atoi(argv[3]) : 100;
  openblas_set_num_threads(1);

  // Byte-level vocabulary: enough for ASCII texts such as tinyshakespeare.
  int index[256];
  int K = 0;
  for (int b = 0; b < 256; ++b) index[b] = -1;
  for (unsigned char b : bytes) index[b] = 0;
  for (int b = 0; b < 256; ++b)
    if (index[b] == 0) index[b] = K++;
  std::vector<uint8_t> corpus(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) corpus[i] = static_cast<uint8_t>(index[bytes[i]]);

  const rnn::Dims d = rnn::make_dims(m, K);
  std::vector<float> params(d.total), grads(d.total), accum(d.total), h(m);
  std::mt19937 gen(42);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  for (size_t i = 0; i < d.b; ++i) params[i] = normal(gen);
  rnn::Corpus c{corpus.data(), corpus.size(), 1};
  rnn::Walk walk;
  rnn::Hyper hp;
  rnn::Workspace ws;
  std::vector<double> losses(updates);

  const auto start = std::chrono::steady_clock::now();
  rnn::train(d, params.data(), grads.data(), accum.data(), h.data(), c, walk, hp, updates, losses.data(), ws);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double smooth = losses[0];
  for (double l : losses) smooth = 0.999 * smooth + 0.001 * l;
  std::printf("m=%d K=%d updates=%zu seconds=%.3f updates/s=%.0f smooth=%.4f\n", m, K, updates, seconds,
              updates / seconds, smooth);
  return 0;
}

// What each of the "ways" of docs/performance.md is worth, for one update of the model (B = 50 streams,
// T = 50 steps, K = 65, Adam): the multiplies the kernel issues (rnn::matmul_plan) against
// the plan it would issue without the way, both timed alone through OpenBLAS
// (rnn::time_matmul_plan), beside the time of a whole update. `ways_bench [reps]`; see
// docs/performance.md for the build line and the recorded output.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <cblas.h>

#include "../kernels/model.h"

using rnn::Matmul;
using Plan = std::vector<Matmul>;

namespace {

constexpr int kVocab = 65, kStreams = 50, kSteps = 50, kLayers = 2;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double plan_ms(const Plan& plan, int reps) { return 1e3 * rnn::time_matmul_plan(plan, reps).seconds; }

// One whole update (forward, backward, Adam) of a Model with N(0, 0.05²) weights: ms, median.
double update_ms(const rnn::Shape& s, int reps) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> params(rnn::parameter_count(s)), grads(params.size()), second(params.size()),
      first(params.size());
  for (float& p : params) p = normal(rng);
  const size_t state = static_cast<size_t>(s.layers) * kStreams * s.hidden;
  std::vector<float> h(state, 0.0f), c(state, 0.0f);
  std::vector<int32_t> x(kSteps * kStreams), y(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int32_t>(rng() % kVocab), y[i] = static_cast<int32_t>(rng() % kVocab);
  rnn::Model model(s, kStreams, kSteps);
  model.bind(params.data(), grads.data(), h.data(), c.data());
  rnn::OptimizerSettings adam{rnn::OptimizerKind::Adam, 0.002f, 1e-8f, 5.0f, 0, 0.9, 0.999};
  std::vector<double> times;
  for (int r = 0; r <= reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    model.forward_backward(x.data(), y.data(), kSteps, true, 0.0, 1, r);
    rnn::optimize(adam, params.size(), params.data(), grads.data(), second.data(), first.data(), r + 1);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (r > 0) times.push_back(ms);  // the first is warm-up
  }
  return median(times);
}

// The plan with every multiply matching `which` replaced by what `expand` returns for it.
Plan rewrite(const Plan& plan, const std::function<bool(const Matmul&)>& which,
             const std::function<Plan(const Matmul&)>& expand) {
  Plan out;
  for (const Matmul& g : plan) {
    if (!which(g)) {
      out.push_back(g);
      continue;
    }
    for (const Matmul& e : expand(g)) out.push_back(e);
  }
  return out;
}

Plan repeat(const Matmul& g, int times) { return Plan(static_cast<size_t>(times), g); }

Matmul with(Matmul g, int M, int N, int K, float beta) {
  g.M = M, g.N = N, g.K = K, g.beta = beta;
  g.lda = g.trans_a ? M : K;
  g.ldb = g.trans_b ? K : N;
  g.ldc = N;
  return g;
}

// The two plans timed in alternation (each run after its own warm-up), so that a drift of the
// machine's speed falls on both alike.
void report(const char* way, const Plan& kept, const Plan& without, double update, int reps) {
  std::vector<double> with_way, without_way;
  for (int r = 0; r < reps; ++r) {
    with_way.push_back(plan_ms(kept, 1));
    without_way.push_back(plan_ms(without, 1));
  }
  const double now = median(with_way), before = median(without_way);
  std::printf("  %-46s %8.2f ms without, %8.2f with: %+7.2f ms (%+5.1f %% of an update)\n", way,
              before, now, before - now, 100.0 * (before - now) / update);
}

void ways(rnn::Cell cell, const char* name, int m, int reps) {
  const rnn::Shape s{cell, kVocab, m, kLayers};
  const int G = rnn::gates(cell), Gm = G * m, B = kStreams, T = kSteps, N = B * T;
  const Plan plan = rnn::matmul_plan(s, B, T);
  const double update = update_ms(s, reps), multiplies = plan_ms(plan, reps);
  std::printf("%s %d×%d, B = %d, T = %d: update %.2f ms (%.0f chars/s), its multiplies alone %.2f ms (%.0f %%)\n",
              name, kLayers, m, B, T, update, N / update * 1e3, multiplies, 100 * multiplies / update);
  const auto step_forward = [&](const Matmul& g) { return g.M == B && g.N == Gm && g.K == m; };
  const auto step_backward = [&](const Matmul& g) { return g.M == B && g.N == m && g.K == Gm; };
  // 1. Layer 0's one-hot input as a multiply: onehot (N × K) · Wxᵀ forward, dPreᵀ · onehot for dWx.
  Plan multiply = plan;
  multiply.push_back(with(Matmul{false, true}, N, Gm, kVocab, 1.0f));
  multiply.push_back(with(Matmul{true, false}, Gm, kVocab, N, 0.0f));
  report("1 one-hot input: gather, not multiply", plan, multiply, update, reps);
  // 2. The G gates of a step as G multiplies of m columns each, forward and backward.
  const Plan per_gate = rewrite(
      rewrite(plan, step_forward, [&](const Matmul& g) { return repeat(with(g, B, m, m, g.beta), G); }),
      step_backward, [&](const Matmul& g) { return repeat(with(g, B, m, m, 1.0f), G); });
  report("2 gates fused: one multiply per step", plan, per_gate, update, reps);
  // 3. Layer ≥ 1's input projections (and their gradient dX) step by step.
  const auto block_input = [&](const Matmul& g) { return g.M == N && ((g.N == Gm && g.K == m) || (g.N == m && g.K == Gm)); };
  const Plan per_step = rewrite(plan, block_input, [&](const Matmul& g) { return repeat(with(g, B, g.N, g.K, g.beta), T); });
  report("3 input projections: one multiply per block", plan, per_step, update, reps);
  // 4. Weight gradients (dWh, dWx, dV) accumulated step by step, B rows each.
  const auto weight_gradient = [&](const Matmul& g) { return g.trans_a && g.K == N; };
  const Plan per_step_grads = rewrite(plan, weight_gradient, [&](const Matmul& g) { return repeat(with(g, g.M, g.N, B, 1.0f), T); });
  report("4 weight gradients: one multiply per block", plan, per_step_grads, update, reps);
  // 5. States kept stream-major ([b][t]): a step's B rows of h are T·m floats apart.
  const Plan strided = rewrite(plan, step_forward, [&](const Matmul& g) {
    Matmul s2 = g;
    s2.lda = T * m;
    return Plan{s2};
  });
  report("5 layout: a step's rows contiguous", plan, strided, update, reps);
  // 6. Scratch allocated (and so zeroed, page by page) on every update.
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<float> scratch(rnn::scratch_floats(s, B, T));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (scratch[scratch.size() / 2] != 0) std::abort();
    times.push_back(ms);
  }
  const double alloc = median(times);
  std::printf("  %-46s %8.2f ms per update (%+5.1f %% of an update)\n", "6 no allocation: scratch allocated per update",
              alloc, 100.0 * alloc / update);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  openblas_set_num_threads(1);
  std::printf("OpenBLAS %s, one thread, medians of %d\n", openblas_get_config(), reps);
  for (int m : {128, 512}) {
    ways(rnn::Cell::Lstm, "lstm", m, m == 128 ? reps : reps / 4 + 1);
    ways(rnn::Cell::Gru, "gru", m, m == 128 ? reps : reps / 4 + 1);
  }
  return 0;
}

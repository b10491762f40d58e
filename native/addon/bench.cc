// The benchmark exports: one update's matrix multiplies as the kernel issues them, and their time
// alone through OpenBLAS (the "sgemm-only ceiling" of npm run bench).
#include <algorithm>
#include <vector>

#include "binding.h"

namespace binding {

namespace {

// (cell, vocab, hidden, layers, streams, seqLength) → the plan of one update's multiplies,
// checked as a Model's spec; `c` may hold a refusal of an argument checked before.
std::vector<rnn::Matmul> plan_of(const Napi::CallbackInfo& info, checks::Checks& c) {
  Napi::Env env = info.Env();
  const checks::Plan p = checks::plan(c, value_of(info[0]), value_of(info[1]), value_of(info[2]),
                                      value_of(info[3]), value_of(info[4]), value_of(info[5]));
  throw_if_refused(env, c);
  return guarded(env, [&] { return rnn::matmul_plan(p.shape, p.streams, p.seq_length); });
}

// matmulPlan(cell, vocab, hidden, layers, streams, seqLength):
// [{m, n, k, transA, transB, count}] — one update's multiplies (C m × n, inner k), equal ones
// grouped, in the order the kernel first issues them.
Napi::Value MatmulPlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checks::Checks c;
  const std::vector<rnn::Matmul> plan = plan_of(info, c);
  struct Group {
    const rnn::Matmul* first;
    int count;
  };
  std::vector<Group> groups;
  for (const rnn::Matmul& g : plan) {
    auto same = [&](const Group& e) {
      return e.first->M == g.M && e.first->N == g.N && e.first->K == g.K &&
             e.first->trans_a == g.trans_a && e.first->trans_b == g.trans_b;
    };
    auto found = std::find_if(groups.begin(), groups.end(), same);
    if (found == groups.end())
      groups.push_back({&g, 1});
    else
      ++found->count;
  }
  Napi::Array entries = Napi::Array::New(env, groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    const rnn::Matmul& g = *groups[i].first;
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("m", g.M);
    entry.Set("n", g.N);
    entry.Set("k", g.K);
    entry.Set("transA", g.trans_a);
    entry.Set("transB", g.trans_b);
    entry.Set("count", groups[i].count);
    entries.Set(static_cast<uint32_t>(i), entry);
  }
  return entries;
}

// matmulSeconds(cell, vocab, hidden, layers, streams, seqLength, reps): {seconds, flops}
// — one update's multiplies alone, per update (the median of reps runs after a warm-up).
Napi::Value MatmulSeconds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checks::Checks c;
  const int reps = c.integer(value_of(info[6]), "reps", 1, checks::kMaxReps);
  const std::vector<rnn::Matmul> plan = plan_of(info, c);
  const rnn::MatmulTiming timing =
      guarded(env, [&] { return rnn::time_matmul_plan(plan, reps); });
  Napi::Object result = Napi::Object::New(env);
  result.Set("seconds", timing.seconds);
  result.Set("flops", timing.flops);
  return result;
}

}  // namespace

void export_bench(Napi::Env env, Napi::Object exports) {
  exports.Set("matmulPlan", Napi::Function::New(env, MatmulPlan, "matmulPlan"));
  exports.Set("matmulSeconds",
              Napi::Function::New(env, MatmulSeconds, "matmulSeconds"));
}

}  // namespace binding

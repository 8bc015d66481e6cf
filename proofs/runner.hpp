// The proof runner: one Z3 query per (operation x invariant) or per lemma. A query asserts the
// hypotheses and the NEGATION of the claim: unsat = proved, sat = counterexample (printed from
// the model), unknown = the solver gave up (a failure, never a pass).
#pragma once

#include <z3++.h>

#include <functional>
#include <string>
#include <vector>

namespace bh::proofs {

// Satisfiable / Vacuous: the verdicts of a query that must be satisfiable (a non-vacuity check:
// the hypotheses of a proof can hold together); Vacuous is a failure.
enum class Verdict { Proved, Counterexample, Unknown, Satisfiable, Vacuous };

struct QueryResult {
    std::string group;    // "model", "lemma"
    std::string subject;  // operation or lemma family
    std::string claim;    // invariant / lemma
    Verdict verdict = Verdict::Unknown;
    double seconds = 0;
    std::string counterexample;  // the relevant part of the model (sat only)
    std::string note;            // e.g. "known finding KF-1", "expected (planted bug)"
};

// Runs one query. `build` adds hypotheses and the negated claim to the solver; `explain`
// renders the counterexample from a model (called only on sat). `ground`, when given, builds a
// quantifier-free query whose hypotheses are consequences of build's (instances of its
// quantifiers): it is tried first, and only its unsat counts (as proved, note "ground").
// Model queries (group "model") then try E-matching alone, then MBQI, which finds
// counterexamples. want_sat: the query must be satisfiable (sat = Satisfiable, unsat = Vacuous);
// asked of MBQI directly.
QueryResult run_query(z3::context& ctx, const std::string& group, const std::string& subject,
                      const std::string& claim, const std::function<void(z3::solver&)>& build,
                      const std::function<std::string(const z3::model&)>& explain, unsigned timeout_ms,
                      const char* logic = nullptr, const std::function<void(z3::solver&)>& ground = nullptr,
                      bool want_sat = false);

const char* verdict_name(Verdict v);
std::string format_table(const std::vector<QueryResult>& results);

// Helpers shared by the model and the lemmas.
std::string hex(uint64_t v);
uint64_t eval_u64(const z3::model& m, const z3::expr& e);
bool eval_bool(const z3::model& m, const z3::expr& e);

}  // namespace bh::proofs

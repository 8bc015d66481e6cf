// The proof runner: one Z3 query per (operation x invariant) or per lemma. A query asserts the
// hypotheses and the NEGATION of the claim: unsat = proved, sat = counterexample (printed from
// the model), unknown = the solver gave up (a failure, never a pass).
//
// Every check is bounded by Z3's resource limit (`rlimit`: deterministic units of solver work,
// the same on a loaded or an idle machine), never by a wall-clock timeout, so a verdict does not
// depend on what else the machine is doing. The limits below are the measured maximum of a
// proved query times a margin (docs/proofs.md "Resource limits").
#pragma once

#include <z3++.h>

#include <cstdint>
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
    std::uint64_t rlimit = 0;    // resource units used, over every attempt (rlimit count deltas)
    std::string counterexample;  // the relevant part of the model (sat only)
    std::string note;            // e.g. "known finding KF-1", "expected (planted bug)"
};

// Runs one query. `build` adds hypotheses and the negated claim to the solver; `explain`
// renders the counterexample from a model (called only on sat). `ground`, when given, builds a
// quantifier-free query whose hypotheses are consequences of build's (instances of its
// quantifiers): it is tried first, and only its unsat counts (as proved, note "ground").
// Model queries (group "model") then try E-matching alone, then MBQI, which finds
// counterexamples. want_sat: the query must be satisfiable (sat = Satisfiable, unsat = Vacuous);
// asked of MBQI directly. `rlimit`: the resource limit of the last attempt (the quantified query
// or the lemma); the ground and E-matching attempts have their own (kGroundRlimit, kEmatchRlimit).
QueryResult run_query(z3::context& ctx, const std::string& group, const std::string& subject,
                      const std::string& claim, const std::function<void(z3::solver&)>& build,
                      const std::function<std::string(const z3::model&)>& explain, unsigned rlimit,
                      const char* logic = nullptr, const std::function<void(z3::solver&)>& ground = nullptr,
                      bool want_sat = false);

// Resource limits (Z3 rlimit units). Measured on libz3 4.8.12 (docs/proofs.md "Resource
// limits"): each is several times the most a proved query of its kind used.
inline constexpr unsigned kGroundRlimit = 20000000u;
inline constexpr unsigned kEmatchRlimit = 50000000u;
inline constexpr unsigned kModelRlimit = 400000000u;   // MBQI: counterexamples and non-vacuity
inline constexpr unsigned kLemmaRlimit = 50000000u;
inline constexpr unsigned kConcreteRlimit = 50000000u;  // one concrete-check query

// Sets the resource limit of `s` (relative to the work its context has done so far).
void limit(z3::solver& s, unsigned rlimit);
// The resource units `s`'s context has used so far (its "rlimit count" statistic).
std::uint64_t rlimit_count(z3::solver& s);

const char* verdict_name(Verdict v);
std::string format_table(const std::vector<QueryResult>& results);

// Helpers shared by the model and the lemmas.
std::string hex(uint64_t v);
uint64_t eval_u64(const z3::model& m, const z3::expr& e);
bool eval_bool(const z3::model& m, const z3::expr& e);

}  // namespace bh::proofs

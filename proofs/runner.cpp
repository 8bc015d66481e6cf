#include "runner.hpp"

#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace bh::proofs {

void limit(z3::solver& s, unsigned rlimit) {
    z3::params p(s.ctx());
    p.set("rlimit", rlimit);
    s.set(p);
}

std::uint64_t rlimit_count(z3::solver& s) {
    const z3::stats st = s.statistics();
    for (unsigned i = 0; i < st.size(); ++i)
        if (st.key(i) == "rlimit count") return st.is_uint(i) ? st.uint_value(i) : static_cast<std::uint64_t>(st.double_value(i));
    return 0;
}

namespace {

// One attempt: check `s` under `rlimit`, adding the units it used to `used`.
z3::check_result check_limited(z3::solver& s, unsigned rlimit, std::uint64_t& used) {
    limit(s, rlimit);
    const std::uint64_t before = rlimit_count(s);
    const z3::check_result c = s.check();
    used += rlimit_count(s) - before;
    return c;
}

void dump_smt2(const std::string& subject, const std::string& claim, z3::solver& g) {
    const char* d = std::getenv("BH_PROOF_DUMP");  // debugging aid: the ground query as SMT-LIB2
    if (d == nullptr) return;
    std::string fn = subject + "-" + claim;
    for (auto& ch : fn)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '_';
    if (FILE* f = std::fopen((std::string(d) + "/" + fn + ".smt2").c_str(), "w")) {
        std::fputs(g.to_smt2().c_str(), f);
        std::fclose(f);
    }
}

}  // namespace

QueryResult run_query(z3::context& ctx, const std::string& group, const std::string& subject,
                      const std::string& claim, const std::function<void(z3::solver&)>& build,
                      const std::function<std::string(const z3::model&)>& explain, unsigned rlimit,
                      const char* logic, const std::function<void(z3::solver&)>& ground, bool want_sat) {
    QueryResult r;
    r.group = group;
    r.subject = subject;
    r.claim = claim;
    const auto t0 = std::chrono::steady_clock::now();
    auto finish = [&](Verdict v, std::string note) {
        r.verdict = v;
        r.note = std::move(note);
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return r;
    };
    if (ground) {
        // Quantifier-free (uninterpreted functions, bit-vectors, linear integer arithmetic) and
        // decidable; a few hundred thousand units at most.
        z3::solver g(ctx);
        ground(g);
        dump_smt2(subject, claim, g);
        if (check_limited(g, kGroundRlimit, r.rlimit) == z3::unsat) return finish(Verdict::Proved, "ground");
    }
    if (group == "model" && !want_sat) {
        // First E-matching only (fast at refuting, i.e. at proofs); MBQI below is what finds
        // counterexamples.
        z3::solver e(ctx);
        z3::params ep(ctx);
        ep.set("mbqi", false);
        e.set(ep);
        build(e);
        if (check_limited(e, kEmatchRlimit, r.rlimit) == z3::unsat) return finish(Verdict::Proved, "e-matching");
    }
    z3::solver s = logic ? z3::solver(ctx, logic) : z3::solver(ctx);
    build(s);
    const z3::check_result c = check_limited(s, rlimit, r.rlimit);
    const std::string quantified = group == "model" ? "mbqi" : "";
    if (want_sat) {
        if (c == z3::sat) return finish(Verdict::Satisfiable, quantified);
        if (c == z3::unsat) return finish(Verdict::Vacuous, quantified);
    } else if (c == z3::unsat) {
        return finish(Verdict::Proved, quantified);
    } else if (c == z3::sat) {
        r.counterexample = explain ? explain(s.get_model()) : std::string("(model not rendered)");
        return finish(Verdict::Counterexample, quantified);
    }
    // unknown: the resource limit ran out (or the solver is incomplete for the query).
    return finish(Verdict::Unknown, "unknown: " + s.reason_unknown());
}

const char* verdict_name(Verdict v) {
    switch (v) {
        case Verdict::Proved: return "proved";
        case Verdict::Counterexample: return "COUNTEREXAMPLE";
        case Verdict::Unknown: return "UNKNOWN";
        case Verdict::Satisfiable: return "satisfiable";
        case Verdict::Vacuous: return "VACUOUS";
    }
    return "?";
}

std::string format_table(const std::vector<QueryResult>& results) {
    std::ostringstream o;
    char line[512];
    std::snprintf(line, sizeof line, "%-7s %-26s %-44s %-15s %8s %11s  %s\n", "group", "operation/lemma",
                  "invariant/claim", "verdict", "time[s]", "rlimit", "note");
    o << line << std::string(132, '-') << "\n";
    double total = 0;
    std::uint64_t max_proved = 0;
    for (const auto& r : results) {
        std::snprintf(line, sizeof line, "%-7s %-26s %-44s %-15s %8.3f %11llu  %s\n", r.group.c_str(), r.subject.c_str(),
                      r.claim.c_str(), verdict_name(r.verdict), r.seconds, static_cast<unsigned long long>(r.rlimit),
                      r.note.c_str());
        o << line;
        total += r.seconds;
        if (r.verdict == Verdict::Proved && r.rlimit > max_proved) max_proved = r.rlimit;
    }
    std::snprintf(line, sizeof line, "%zu queries, solver time %.2f s, largest rlimit of a proved query %llu\n",
                  results.size(), total, static_cast<unsigned long long>(max_proved));
    o << std::string(132, '-') << "\n" << line;
    return o.str();
}

std::string hex(uint64_t v) {
    char b[32];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
}

uint64_t eval_u64(const z3::model& m, const z3::expr& e) {
    z3::expr v = m.eval(e, true);
    uint64_t out = 0;
    if (v.is_numeral()) v.is_numeral_u64(out);
    return out;
}

bool eval_bool(const z3::model& m, const z3::expr& e) { return m.eval(e, true).is_true(); }

}  // namespace bh::proofs

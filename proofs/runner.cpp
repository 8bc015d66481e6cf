#include "runner.hpp"

#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace bh::proofs {

namespace {
constexpr unsigned kGroundTimeoutMs = 10000;
}

QueryResult run_query(z3::context& ctx, const std::string& group, const std::string& subject,
                      const std::string& claim, const std::function<void(z3::solver&)>& build,
                      const std::function<std::string(const z3::model&)>& explain, unsigned timeout_ms,
                      const char* logic, const std::function<void(z3::solver&)>& ground, bool want_sat) {
    QueryResult r{group, subject, claim};
    z3::solver s = logic ? z3::solver(ctx, logic) : z3::solver(ctx);
    z3::params p(ctx);
    p.set("timeout", timeout_ms);
    s.set(p);
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&]() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    if (ground) {
        // Quantifier-free (uninterpreted functions, bit-vectors, linear integer arithmetic) and
        // decidable; usually well under a second.
        z3::solver g(ctx);
        z3::params gp(ctx);
        gp.set("timeout", kGroundTimeoutMs);
        g.set(gp);
        ground(g);
        if (const char* d = std::getenv("BH_PROOF_DUMP")) {  // debugging aid: the ground query as SMT-LIB2
            std::string fn = subject + "-" + claim;
            for (auto& ch : fn)
                if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '_';
            if (FILE* f = std::fopen((std::string(d) + "/" + fn + ".smt2").c_str(), "w")) {
                std::fputs(g.to_smt2().c_str(), f);
                std::fclose(f);
            }
        }
        if (g.check() == z3::unsat) {
            r.verdict = Verdict::Proved;
            r.note = "ground";
            r.seconds = elapsed();
            return r;
        }
    }
    if (group == "model" && !want_sat) {
        // First a short attempt by E-matching only (fast at refuting, i.e. at proofs); MBQI below
        // is what finds counterexamples.
        z3::solver e(ctx);
        z3::params ep(ctx);
        ep.set("timeout", 6000u);
        ep.set("mbqi", false);
        e.set(ep);
        build(e);
        if (e.check() == z3::unsat) {
            r.verdict = Verdict::Proved;
            r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            return r;
        }
    }
    build(s);
    const z3::check_result c = s.check();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (want_sat) {
        r.verdict = c == z3::sat ? Verdict::Satisfiable : c == z3::unsat ? Verdict::Vacuous : Verdict::Unknown;
        if (c == z3::unknown) r.note = s.reason_unknown();
    } else if (c == z3::unsat) {
        r.verdict = Verdict::Proved;
    } else if (c == z3::sat) {
        r.verdict = Verdict::Counterexample;
        r.counterexample = explain ? explain(s.get_model()) : std::string("(model not rendered)");
    } else {
        r.verdict = Verdict::Unknown;
        r.note = s.reason_unknown();
    }
    return r;
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
    std::snprintf(line, sizeof line, "%-7s %-26s %-44s %-15s %8s  %s\n", "group", "operation/lemma",
                  "invariant/claim", "verdict", "time[s]", "note");
    o << line << std::string(120, '-') << "\n";
    double total = 0;
    for (const auto& r : results) {
        std::snprintf(line, sizeof line, "%-7s %-26s %-44s %-15s %8.3f  %s\n", r.group.c_str(), r.subject.c_str(),
                      r.claim.c_str(), verdict_name(r.verdict), r.seconds, r.note.c_str());
        o << line;
        total += r.seconds;
    }
    std::snprintf(line, sizeof line, "%zu queries, solver time %.2f s\n", results.size(), total);
    o << std::string(120, '-') << "\n" << line;
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

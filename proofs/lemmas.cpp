// Bit-level lemmas (design.md "Verification harness" (3)), every input a symbolic bit-vector.
// The Z3 terms mirror the C++ expressions one to one (file:line references below) and take their
// constants from the same constexpr definitions, so a change to a constant changes the formula.
#include <bulkhead/manifest.hpp>
#include <bulkhead/types.hpp>
#include <caps/capability.hpp>
#include <caps/rights.hpp>
#include <arch/stage2.hpp>

#include "model.hpp"

namespace bh::proofs {
namespace {

using z3::expr;


expr u64v(z3::context& c, u64 v) { return c.bv_val(static_cast<uint64_t>(v), 64); }

// stage2_table.hpp encode_leaf_attrs / decode_leaf_attrs / make_leaf / leaf_output.
expr encode_leaf_attrs(z3::context& c, const expr& a) {
    using namespace manifest::attr;
    expr bits = u64v(c, stage2::kAf);
    bits = bits | z3::ite((a & u64v(c, kRead)) != 0, u64v(c, stage2::kS2apRead), u64v(c, 0));
    bits = bits | z3::ite((a & u64v(c, kWrite)) != 0, u64v(c, stage2::kS2apWrite), u64v(c, 0));
    bits = bits | z3::ite((a & u64v(c, kExecute)) == 0, u64v(c, stage2::kXn), u64v(c, 0));
    bits = bits | z3::ite((a & u64v(c, kDevice)) != 0, u64v(c, stage2::mem_attr(stage2::kMemAttrDeviceNgnre)),
                          u64v(c, stage2::mem_attr(stage2::kMemAttrNormalWb) | stage2::kShInner));
    return bits;
}
expr decode_leaf_attrs(z3::context& c, const expr& d) {
    using namespace manifest::attr;
    expr a = u64v(c, 0);
    a = a | z3::ite((d & u64v(c, stage2::kS2apRead)) != 0, u64v(c, kRead), u64v(c, 0));
    a = a | z3::ite((d & u64v(c, stage2::kS2apWrite)) != 0, u64v(c, kWrite), u64v(c, 0));
    a = a | z3::ite((d & u64v(c, stage2::kXn)) == 0, u64v(c, kExecute), u64v(c, 0));
    a = a | z3::ite((d & u64v(c, stage2::kMemAttrMask)) == u64v(c, stage2::mem_attr(stage2::kMemAttrDeviceNgnre)),
                    u64v(c, kDevice), u64v(c, 0));
    return a;
}
expr attrs_valid(z3::context& c, const expr& a) {
    using namespace manifest::attr;
    return (a & ~u64v(c, kAll)) == 0 && (a & u64v(c, kRead | kWrite)) != 0 &&
           !((a & u64v(c, kDevice)) != 0 && (a & u64v(c, kExecute)) != 0);
}
expr make_leaf(z3::context& c, unsigned level, const expr& pa, const expr& a) {
    return (pa & u64v(c, stage2::kAddressMask)) | encode_leaf_attrs(c, a) | u64v(c, stage2::kValid) |
           u64v(c, level == stage2::kLastLevel ? stage2::kTableOrPage : 0);
}

struct Lemma {
    std::string family, claim;
    std::function<void(z3::context&, z3::solver&)> negated;
};

}  // namespace

std::vector<QueryResult> run_lemmas(const std::string& /*planted*/) {
    std::vector<Lemma> ls;
    for (unsigned level = stage2::kFirstLevel; level <= stage2::kLastLevel; ++level) {
        const std::string L = " (level " + std::to_string(level) + ")";
        ls.push_back({"stage2 descriptors", "decode(make_leaf(pa,a)) == a for valid a" + L,
                      [level](z3::context& c, z3::solver& s) {
                          expr pa = c.bv_const("pa", 64), a = c.bv_const("attrs", 64);
                          s.add(attrs_valid(c, a));
                          s.add(decode_leaf_attrs(c, make_leaf(c, level, pa, a)) != a);
                      }});
        ls.push_back({"stage2 descriptors", "leaf_output(make_leaf(pa,a)) == pa for aligned pa < 2^40" + L,
                      [level](z3::context& c, z3::solver& s) {
                          expr pa = c.bv_const("pa", 64), a = c.bv_const("attrs", 64);
                          s.add(attrs_valid(c, a));
                          s.add((pa & u64v(c, stage2::level_size(level) - 1)) == 0 && z3::ult(pa, u64v(c, stage2::kOutputLimit)));
                          const expr d = make_leaf(c, level, pa, a);
                          s.add((d & u64v(c, stage2::kAddressMask) & ~u64v(c, stage2::level_size(level) - 1)) != pa);
                      }});
        ls.push_back({"stage2 descriptors", "make_leaf is a valid leaf, never a table" + L,
                      [level](z3::context& c, z3::solver& s) {
                          expr pa = c.bv_const("pa", 64), a = c.bv_const("attrs", 64);
                          s.add(attrs_valid(c, a));
                          const expr low = make_leaf(c, level, pa, a) & u64v(c, 3);
                          // is_leaf / is_table (stage2_table.hpp)
                          const expr leaf = level < stage2::kLastLevel ? low == 1 : low == 3;
                          s.add(!leaf);
                      }});
    }
    ls.push_back({"stage2 descriptors", "output-address bits never overlap attribute bits", [](z3::context& c, z3::solver& s) {
                      expr a = c.bv_const("attrs", 64);
                      s.add(attrs_valid(c, a));
                      s.add((encode_leaf_attrs(c, a) & u64v(c, stage2::kAddressMask)) != 0 ||
                            (encode_leaf_attrs(c, a) & u64v(c, stage2::kValid | stage2::kTableOrPage)) != 0);
                  }});
    ls.push_back({"stage2 descriptors", "a device leaf is never executable (XN set)", [](z3::context& c, z3::solver& s) {
                      expr pa = c.bv_const("pa", 64), a = c.bv_const("attrs", 64);
                      s.add(attrs_valid(c, a) && (a & u64v(c, manifest::attr::kDevice)) != 0);
                      s.add((make_leaf(c, 3, pa, a) & u64v(c, stage2::kXn)) == 0);
                  }});
    ls.push_back({"stage2 descriptors", "write-only/exec-only/unknown attrs refused", [](z3::context& c, z3::solver& s) {
                      expr a = c.bv_const("attrs", 64);
                      using namespace manifest::attr;
                      s.add(attrs_valid(c, a) && ((a & u64v(c, kRead | kWrite)) == 0 || (a & ~u64v(c, kAll)) != 0));
                  }});
    // rights.hpp
    ls.push_back({"rights masks", "mint: src & from_bits(mask) ⊆ src, for all 8-bit src and 64-bit mask",
                  [](z3::context& c, z3::solver& s) {
                      expr src = c.bv_const("src", 8), mask = c.bv_const("mask", 64);
                      // Rights::from_bits: u8(bits & kAllBits); Rights::operator&
                      const expr fb = mask.extract(7, 0) & c.bv_val(Rights::kAllBits, 8);
                      const expr r = src & fb;
                      s.add((r & ~src) != 0);  // subset() negated
                  }});
    ls.push_back({"rights masks", "Rights::from_bits(bits) ⊆ kAllBits for all 64-bit bits", [](z3::context& c, z3::solver& s) {
                      expr bits = c.bv_const("bits", 64);
                      const expr fb = (bits & u64v(c, Rights::kAllBits)).extract(7, 0);
                      s.add((fb & ~c.bv_val(Rights::kAllBits, 8)) != 0);
                  }});
    ls.push_back({"rights masks", "mint result ⊆ mask", [](z3::context& c, z3::solver& s) {
                      expr src = c.bv_const("src", 8), mask = c.bv_const("mask", 64);
                      const expr r = src & (mask & u64v(c, Rights::kAllBits)).extract(7, 0);
                      s.add((z3::zext(r, 56) & ~mask) != 0);
                  }});
    // types.hpp range arithmetic, checked against unbounded (72-bit) arithmetic.
    auto wide = [](const expr& e) { return z3::zext(e, 1); };  // 65 bits: sums of two u64 never wrap
    // range_inside in linear integer arithmetic: u64 values are Ints in [0, 2^64) and u64
    // subtraction is written with its wrap-around (x - y, or + 2^64 when x < y), so the formula
    // is the C++ expression exactly (bit-blasting the 64-bit subtract-compare chain times out).
    auto u64int = [](z3::context& c, z3::solver& s, const char* n) {
        expr v = c.int_const(n);
        s.add(v >= 0 && v < c.int_val("18446744073709551616"));
        return v;
    };
    auto wsub = [](z3::context& c, const expr& x, const expr& y) {
        return z3::ite(x >= y, x - y, x - y + c.int_val("18446744073709551616"));
    };
    ls.push_back({"range arithmetic", "range_inside(a,s,b,t) => a >= b && a+s <= b+t (unbounded)",
                  [u64int, wsub](z3::context& c, z3::solver& s) {
                      expr a = u64int(c, s, "a"), sz = u64int(c, s, "s"), b = u64int(c, s, "b"), t = u64int(c, s, "t");
                      // ranges_overlap
                      s.add(a >= b && sz <= t && wsub(c, a, b) <= wsub(c, t, sz));
                      s.add(!(a >= b && a + sz <= b + t));
                  }});
    ls.push_back({"range arithmetic", "range_inside is exact (iff containment, unbounded)",
                  [u64int, wsub](z3::context& c, z3::solver& s) {
                      expr a = u64int(c, s, "a"), sz = u64int(c, s, "s"), b = u64int(c, s, "b"), t = u64int(c, s, "t");
                      const expr code = a >= b && sz <= t && wsub(c, a, b) <= wsub(c, t, sz);
                      const expr math = a >= b && a + sz <= b + t;
                      s.add(code != math);
                  }});
    // Strictly below 2^64: a range ending exactly at 2^64 makes base + size == 0 in u64 and
    // ranges_overlap wrong (Z3 finds it); range_valid refuses such ranges.
    ls.push_back({"range arithmetic", "ranges_overlap == math overlap when both end below 2^64",
                  [wide](z3::context& c, z3::solver& s) {
                      expr a = c.bv_const("a", 64), as = c.bv_const("as", 64), b = c.bv_const("b", 64), bs = c.bv_const("bs", 64);
                      const expr lim = wide(u64v(c, ~0ull)) + 1;
                      // non-empty ranges (every caller passes a size != 0: a zero-sized range
                      // inside the other is reported as overlapping, Z3 finds that too)
                      s.add(as != 0 && bs != 0 && z3::ult(wide(a) + wide(as), lim) && z3::ult(wide(b) + wide(bs), lim));
                      // ranges_overlap (wrapping u64 arithmetic)
                      const expr code = z3::ult(a, b + bs) && z3::ult(b, a + as);
                      const expr math = as != 0 && bs != 0 && z3::ult(wide(a), wide(b) + wide(bs)) &&
                                        z3::ult(wide(b), wide(a) + wide(as));
                      s.add(code != math);
                  }});
    ls.push_back({"range arithmetic", "ranges_overlap when both ranges are range_valid",
                  [wide](z3::context& c, z3::solver& s) {
                      expr a = c.bv_const("a", 64), as = c.bv_const("as", 64), b = c.bv_const("b", 64), bs = c.bv_const("bs", 64);
                      s.add(as != 0 && z3::ugt(a + as, a) && bs != 0 && z3::ugt(b + bs, b));
                      const expr code = z3::ult(a, b + bs) && z3::ult(b, a + as);
                      const expr math = z3::ult(wide(a), wide(b) + wide(bs)) && z3::ult(wide(b), wide(a) + wide(as));
                      s.add(code != math);
                  }});
    ls.push_back({"range arithmetic", "align_up(v,2^k) >= v, aligned, < v+2^k, for v <= 2^48, k <= 48",
                  [wide](z3::context& c, z3::solver& s) {
                      expr v = c.bv_const("v", 64), k = c.bv_const("k", 64);
                      s.add(z3::ule(k, u64v(c, 48)) && z3::ule(v, u64v(c, 1ull << 48)));
                      const expr al = z3::shl(u64v(c, 1), k);
                      const expr up = (v + al - 1) & ~(al - 1);  // align_up
                      s.add(!(z3::uge(up, v) && (up & (al - 1)) == 0 && z3::ult(wide(up), wide(v) + wide(al))));
                  }});
    ls.push_back({"range arithmetic", "retype offsets: start + count<<bits <= ut_size never wraps (caps::retype)",
                  [wide](z3::context& c, z3::solver& s) {
                      expr wmk = c.bv_const("watermark", 64), ob = c.bv_const("obj_bits", 64), ub = c.bv_const("ut_bits", 64),
                           cnt = c.bv_const("count", 64);
                      s.add(z3::uge(ob, u64v(c, 12)) && z3::ule(ob, ub) && z3::ule(ub, u64v(c, 48)) && cnt != 0 &&
                            z3::ule(cnt, u64v(c, caps::kMaxRetypeCount)));
                      const expr ut = z3::shl(u64v(c, 1), ub), os = z3::shl(u64v(c, 1), ob);
                      s.add(z3::ule(wmk, ut));
                      const expr start = (wmk + os - 1) & ~(os - 1);
                      // guard passes
                      s.add(z3::ule(start, ut) && z3::ule(cnt, z3::lshr(ut - start, ob)));
                      const expr total = z3::shl(cnt, ob);
                      s.add(!(z3::ule(wide(start) + wide(total), wide(ut)) && z3::uge(start, wmk)));
                  }});
    std::vector<QueryResult> out;
    for (const auto& l : ls) {
        z3::context ctx;
        auto build = [&](z3::solver& s) { l.negated(ctx, s); };
        auto explain = [&](const z3::model& m) {
            std::string o;
            for (unsigned i = 0; i < m.size(); ++i) {
                z3::func_decl d = m[i];
                o += "    " + d.name().str() + " = " + m.get_const_interp(d).to_string() + "\n";
            }
            return o;
        };
        out.push_back(run_query(ctx, "lemma", l.family, l.claim, build, explain, kLemmaRlimit));
    }
    return out;
}

}  // namespace bh::proofs

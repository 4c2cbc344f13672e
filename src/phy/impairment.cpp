#include "phy/impairment.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <system_error>

namespace pollux::phy {

namespace {

struct Unit {
    std::string_view name;
    std::uint64_t scale;  // in the base unit (ns or bit/s)
};

// Largest first, so to_string picks the coarsest unit that is exact.
constexpr std::array<Unit, 4> duration_units{{
    {"s", 1'000'000'000}, {"ms", 1'000'000}, {"us", 1'000}, {"ns", 1}}};
// SI multiples, as tc(8) reads "kbit", "mbit", "gbit".
constexpr std::array<Unit, 4> rate_units{{
    {"gbit", 1'000'000'000}, {"mbit", 1'000'000}, {"kbit", 1'000}, {"bit", 1}}};

enum class DecimalError { none, syntax, overflow, inexact };

// Joins message parts (appending, which also keeps GCC 12's -Wrestrict false positive on
// `"literal" + std::string` away).
std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const std::string_view p : parts) out += p;
    return out;
}

// Reads "D[.D]" exactly as `digits` x `scale` in the base unit, with no floating point, so
// "1.5ms" is 1,500,000 ns and never 1,499,999.
DecimalError scaled_decimal(std::string_view digits, std::uint64_t scale, std::uint64_t& out) {
    const std::size_t dot = digits.find('.');
    std::string_view whole = digits.substr(0, dot);
    std::string_view frac = dot == std::string_view::npos ? std::string_view() : digits.substr(dot + 1);
    if (whole.empty() || (dot != std::string_view::npos && frac.empty())) return DecimalError::syntax;
    while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);

    std::uint64_t mantissa = 0;
    std::uint64_t divisor = 1;
    for (std::string_view part : {whole, frac}) {
        for (const char c : part) {
            if (c < '0' || c > '9') return DecimalError::syntax;
            if (__builtin_mul_overflow(mantissa, 10u, &mantissa) ||
                __builtin_add_overflow(mantissa, static_cast<unsigned>(c - '0'), &mantissa)) {
                return DecimalError::overflow;
            }
        }
    }
    for (std::size_t i = 0; i < frac.size(); ++i) {
        if (__builtin_mul_overflow(divisor, 10u, &divisor)) return DecimalError::inexact;
    }
    std::uint64_t scaled = 0;
    if (__builtin_mul_overflow(mantissa, scale, &scaled)) return DecimalError::overflow;
    if (scaled % divisor != 0) return DecimalError::inexact;
    out = scaled / divisor;
    return DecimalError::none;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char c = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
        if (c != b[i]) return false;
    }
    return true;
}

// A number with a unit from `units`; "0" alone needs none. Returns the reason on failure.
template <std::size_t N>
std::optional<std::string> parse_with_unit(std::string_view value, const std::array<Unit, N>& units,
                                           std::string_view unit_list, std::uint64_t max,
                                           std::uint64_t& out) {
    if (!value.empty() && value.front() == '-') return std::string("must not be negative");
    const std::size_t unit_at = value.find_first_not_of("0123456789.");
    const std::string_view number = value.substr(0, unit_at);
    const std::string_view unit = unit_at == std::string_view::npos ? std::string_view() : value.substr(unit_at);
    std::uint64_t scale = 0;
    for (const Unit& u : units) {
        if (iequals(unit, u.name)) scale = u.scale;
    }
    if (unit.empty()) {
        std::uint64_t zero = 1;
        if (scaled_decimal(number, 1, zero) == DecimalError::none && zero == 0) {
            out = 0;
            return std::nullopt;
        }
        return cat({"missing unit (", unit_list, ")"});
    }
    if (number.empty()) return "not a number";
    if (scale == 0) return cat({"unknown unit '", unit, "' (", unit_list, ")"});
    switch (scaled_decimal(number, scale, out)) {
        case DecimalError::none:
            if (out > max) return std::string("too large");
            return std::nullopt;
        case DecimalError::syntax: return std::string("not a number");
        case DecimalError::overflow: return std::string("too large");
        case DecimalError::inexact: return cat({"finer than 1", units.back().name});
    }
    return std::string("not a number");
}

std::optional<std::string> parse_probability(std::string_view value, double& out) {
    const bool percent = !value.empty() && value.back() == '%';
    if (percent) value.remove_suffix(1);
    double v = 0.0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size() || !std::isfinite(v)) {
        return std::string("not a number");
    }
    if (percent) v /= 100.0;
    if (v < 0.0 || v > 1.0) return std::string(percent ? "probability must be in [0%, 100%]" : "probability must be in [0, 1]");
    out = v;
    return std::nullopt;
}

std::optional<std::string> parse_duration(std::string_view value, time::Duration& out) {
    std::uint64_t ns = 0;
    constexpr auto max_ns = static_cast<std::uint64_t>(time::Duration::max().ns());
    if (auto err = parse_with_unit(value, duration_units, "ns, us, ms, s", max_ns, ns)) return err;
    out = time::Duration::from_ns(static_cast<std::int64_t>(ns));
    return std::nullopt;
}

std::optional<std::string> parse_seed(std::string_view value, std::uint64_t& out) {
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (value.empty() || end != value.data() + value.size()) return std::string("not an unsigned integer");
    if (ec == std::errc::result_out_of_range) return std::string("too large (64-bit)");
    if (ec != std::errc()) return std::string("not an unsigned integer");
    return std::nullopt;
}

enum class Key { loss, duplicate, reorder, corrupt, delay, jitter, rate, seed, count };

constexpr std::array<std::string_view, static_cast<std::size_t>(Key::count)> key_names{
    "loss", "duplicate", "reorder", "corrupt", "delay", "jitter", "rate", "seed"};

std::optional<std::string> parse_value(Key key, std::string_view value, ImpairmentConfig& c) {
    switch (key) {
        case Key::loss: return parse_probability(value, c.loss);
        case Key::duplicate: return parse_probability(value, c.duplicate);
        case Key::reorder: return parse_probability(value, c.reorder);
        case Key::corrupt: return parse_probability(value, c.corrupt);
        case Key::delay: return parse_duration(value, c.delay);
        case Key::jitter: return parse_duration(value, c.jitter);
        case Key::rate:
            return parse_with_unit(value, rate_units, "bit, kbit, mbit, gbit",
                                   std::numeric_limits<std::uint64_t>::max(), c.rate_bps);
        case Key::seed: return parse_seed(value, c.seed);
        case Key::count: break;
    }
    return std::string("unknown key");
}

template <std::size_t N>
void append_with_unit(std::string& out, std::uint64_t value, const std::array<Unit, N>& units) {
    if (value == 0) {
        out += '0';
        return;
    }
    for (const Unit& u : units) {
        if (value % u.scale == 0) {
            out += std::to_string(value / u.scale);
            out += u.name;
            return;
        }
    }
}

void append_probability(std::string& out, double p) {
    // to_chars' shortest form reads back to the same double.
    std::array<char, 32> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), p);
    out.append(buf.data(), ec == std::errc() ? end : buf.data());
}

}  // namespace

bool ImpairmentConfig::impairs() const noexcept {
    return loss > 0.0 || duplicate > 0.0 || reorder > 0.0 || corrupt > 0.0 ||
           delay > time::Duration::zero() || jitter > time::Duration::zero() || rate_bps > 0;
}

ImpairmentParse parse_impairment(std::string_view text) {
    ImpairmentConfig config;
    std::array<bool, key_names.size()> seen{};
    std::size_t pos = 0;
    while (!text.empty() && pos <= text.size()) {
        const std::size_t comma = text.find(',', pos);
        const std::string_view item = text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
        pos = comma == std::string_view::npos ? text.size() + 1 : comma + 1;

        if (item.empty()) return {std::nullopt, "empty item (a doubled or trailing comma)"};
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            return {std::nullopt, cat({"'", item, "': expected key=value"})};
        }
        const std::string_view name = item.substr(0, eq);
        const std::string_view value = item.substr(eq + 1);
        std::size_t k = 0;
        while (k < key_names.size() && key_names[k] != name) ++k;
        if (k == key_names.size()) {
            return {std::nullopt, cat({item, ": unknown key (expected loss, duplicate, reorder, corrupt, "
                                             "delay, jitter, rate or seed)"})};
        }
        if (seen[k]) return {std::nullopt, cat({item, ": ", name, " given twice"})};
        seen[k] = true;
        if (value.empty()) return {std::nullopt, cat({item, ": empty value"})};
        if (auto err = parse_value(static_cast<Key>(k), value, config)) {
            return {std::nullopt, cat({item, ": ", *err})};
        }
    }
    return {config, {}};
}

std::string to_string(const ImpairmentConfig& c) {
    std::string out;
    out.reserve(96);
    out += "loss=";
    append_probability(out, c.loss);
    out += ",duplicate=";
    append_probability(out, c.duplicate);
    out += ",reorder=";
    append_probability(out, c.reorder);
    out += ",corrupt=";
    append_probability(out, c.corrupt);
    out += ",delay=";
    append_with_unit(out, static_cast<std::uint64_t>(std::max<std::int64_t>(c.delay.ns(), 0)), duration_units);
    out += ",jitter=";
    append_with_unit(out, static_cast<std::uint64_t>(std::max<std::int64_t>(c.jitter.ns(), 0)), duration_units);
    out += ",rate=";
    append_with_unit(out, c.rate_bps, rate_units);
    out += ",seed=";
    out += std::to_string(c.seed);
    return out;
}

}  // namespace pollux::phy

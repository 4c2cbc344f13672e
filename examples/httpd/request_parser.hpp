// RequestParser: Boost.Beast's HTTP/1.1 request parser, fed from httpd's own buffers,
// which keeps only what httpd's routes need and streams the body through.
//
// Beast's basic_parser does the parsing (request line, fields, Content-Length and chunked
// framing, keep_alive() from the version and Connection); this class picks the route from
// the request line and, for POST /sink, folds every body byte into a length and a CRC-32
// as the bytes go by, so a body of any size needs no memory of its own. One parser parses
// one request (Beast's parsers do not restart): httpd emplaces a fresh one per request.
#pragma once

#include <zlib.h>

#include <boost/beast/http/basic_parser.hpp>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>

namespace httpd {

enum class Route {
    index,            // GET /
    bytes,            // GET /bytes/N
    sink,             // POST /sink
    stats,            // GET /stats
    not_found,        // 404: no such path
    method_not_allowed,  // 405: a known path, another method
    bad_request,      // 400: /bytes/ with a count that is not a number
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
public:
    RequestParser() {
        // Any body size: /sink streams it, the other routes drop it as it comes. Not
        // boost::none: Beast 1.74 compares `len_ > body_limit_` on optionals, which is
        // true against none, and so refuses every Content-Length body.
        body_limit(std::numeric_limits<std::uint64_t>::max());
        // The whole request head must fit the connection's input buffer (httpd checks
        // that this limit is below its buffer size).
        header_limit(header_bytes_limit);
        // Hand body bytes over in the same put() as the header, not on the next call.
        eager(true);
    }

    static constexpr std::uint32_t header_bytes_limit = 8192;

    Route route() const { return route_; }
    bool head() const { return head_; }
    int version() const { return version_; }  // 10 or 11
    std::uint64_t bytes_count() const { return bytes_count_; }   // N of /bytes/N
    std::uint64_t body_length() const { return body_length_; }   // body bytes seen
    std::uint32_t body_crc32() const { return body_crc32_; }     // zlib's crc32 of them

private:
    using verb = boost::beast::http::verb;
    using field = boost::beast::http::field;
    using string_view = boost::beast::string_view;
    using error_code = boost::beast::error_code;

    void on_request_impl(verb method, string_view, string_view target, int version, error_code&) override {
        version_ = version;
        const std::string_view path(target.data(), target.size());
        head_ = method == verb::head;
        const bool get = method == verb::get || method == verb::head;
        const std::string_view bytes_prefix = "/bytes/";
        if (path == "/" || path == "/index.html") {
            route_ = get ? Route::index : Route::method_not_allowed;
        } else if (path == "/stats") {
            route_ = get ? Route::stats : Route::method_not_allowed;
        } else if (path == "/sink") {
            route_ = method == verb::post ? Route::sink : Route::method_not_allowed;
        } else if (path.substr(0, bytes_prefix.size()) == bytes_prefix) {
            const std::string_view count = path.substr(bytes_prefix.size());
            auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), bytes_count_);
            if (count.empty() || ec != std::errc() || end != count.data() + count.size()) {
                route_ = Route::bad_request;
            } else {
                route_ = get ? Route::bytes : Route::method_not_allowed;
            }
        } else {
            route_ = Route::not_found;
        }
    }

    void on_response_impl(int, string_view, int, error_code&) override {}
    void on_field_impl(field, string_view, string_view, error_code&) override {}
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(boost::optional<std::uint64_t> const&, error_code&) override {}

    std::size_t on_body_impl(string_view body, error_code&) override {
        take_body(body);
        return body.size();
    }

    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}

    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
        take_body(body);
        return body.size();
    }

    void on_finish_impl(error_code&) override {}

    void take_body(string_view body) {
        body_length_ += body.size();
        if (route_ != Route::sink) return;
        // zlib's crc32 takes uInt lengths; Beast hands over at most one buffer's worth.
        body_crc32_ = static_cast<std::uint32_t>(
            crc32(body_crc32_, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
    }

    Route route_ = Route::not_found;
    bool head_ = false;
    int version_ = 11;
    std::uint64_t bytes_count_ = 0;
    std::uint64_t body_length_ = 0;
    std::uint32_t body_crc32_ = 0;  // crc32(0, NULL, 0) == 0
};

}  // namespace httpd

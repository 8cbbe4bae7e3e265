// Character classes and small grammar checks of HTTP/1.1 (RFC 9110 / 9112),
// shared by the parser and the encoder. Pure functions over bytes, no state;
// usable from any thread.
//
// Every check here is deliberately strict: a byte the RFC grammar does not
// allow is an error, never "probably fine", because the disagreements between
// lenient parsers are what request smuggling exploits.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace remora::http::http1 {

// tchar: the characters of a method or a field name.
bool isTokenChar(unsigned char c);
bool isToken(std::string_view s);
// field-vchar / SP / HTAB: everything but CTLs (and DEL). obs-text (0x80+) is allowed.
bool isFieldValueChar(unsigned char c);
bool isFieldValue(std::string_view s);
// A byte allowed in a request-target (before percent-decoding checks).
bool isTargetChar(unsigned char c);
bool isHexDigit(unsigned char c);

// Strips optional whitespace (SP / HTAB) from both ends.
std::string_view trimOws(std::string_view s);
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// True if the comma-separated list `list` has an element equal to `token`
// (case-insensitive, surrounding OWS ignored).
bool listHasToken(std::string_view list, std::string_view token);

// Content-Length: 1*DIGIT, or a comma-separated list of identical such values
// (RFC 9110 8.6 lets a recipient accept that). Nothing else: no sign, no
// whitespace inside a value, no overflow (values above 2^62 are refused).
std::optional<uint64_t> parseContentLength(std::string_view value);

// Request-target path-and-query: visible ASCII except '#', and every '%'
// followed by two hex digits.
bool isValidPathAndQuery(std::string_view s);
// host [ ":" port ] as in a Host field or an authority: reg-name / IPv4 /
// IP-literal characters only, no userinfo ('@'). Empty is allowed (Host: "").
bool isValidAuthority(std::string_view s);

}  // namespace remora::http::http1

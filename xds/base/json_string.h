// JSON string literals for the hand-written JSON documents of both binaries
// (the bootstrap's YAML-to-JSON pass, /config_dump, proxy-status). Pure, any
// thread.
#pragma once

#include <string>
#include <string_view>

namespace remora::base {

// Appends `s` as a JSON string literal: quotes added, '"', '\\' and control
// characters escaped; other bytes (UTF-8 included) copied as they are.
void appendJsonString(std::string& out, std::string_view s);

// The same, returned.
inline std::string jsonString(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

}  // namespace remora::base

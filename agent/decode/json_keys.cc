#include "agent/decode/json_keys.h"

#include <simdjson.h>

namespace txmon {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// `at` itself, or its first element when it is an array; false if empty.
bool FirstIfArray(element* at) {
  array items;
  if (at->get_array().get(items)) return true;  // not an array
  for (element first : items) {
    *at = first;
    return true;
  }
  return false;
}

bool Follow(element root, std::initializer_list<const char*> path, element* out) {
  element at = root;
  for (const char* field : path) {
    object fields;
    if (!FirstIfArray(&at) || at.get_object().get(fields)) return false;
    if (fields[field].get(at)) return false;
  }
  if (!FirstIfArray(&at)) return false;
  *out = at;
  return true;
}

}  // namespace

std::vector<std::string> JsonObjectKeys(
    std::string_view payload, std::initializer_list<std::initializer_list<const char*>> paths) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(payload);
  element root;
  if (parser.parse(padded).get(root)) return {};
  for (const auto& path : paths) {
    element found;
    object fields;
    if (!Follow(root, path, &found) || found.get_object().get(fields)) continue;
    std::vector<std::string> keys;
    for (simdjson::dom::key_value_pair field : fields) keys.emplace_back(field.key);
    return keys;
  }
  return {};
}

std::string JsonStringAt(std::string_view payload, std::initializer_list<const char*> path) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(payload);
  element root, found;
  std::string_view text;
  if (parser.parse(padded).get(root) || !Follow(root, path, &found) ||
      found.get_string().get(text)) {
    return "";
  }
  return std::string(text);
}

std::string JsonRowKey(std::string_view payload, const char* names_field, const char* rows_field,
                       size_t row) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(payload);
  element root;
  object message, fields;
  array names, rows;
  if (parser.parse(padded).get(root) || root.get_object().get(message) ||
      message[names_field].get_array().get(names) || message[rows_field].get_array().get(rows) ||
      rows.at(row).get_object().get(fields)) {
    return "";
  }
  std::string key;
  for (element name : names) {
    std::string_view column;
    if (name.get_string().get(column)) return "";
    element value;
    std::string_view text = "NULL";
    if (!fields[column].get(value) && !value.is_null() && value.get_string().get(text)) {
      text = "?";
    }
    key += (key.empty() ? "" : ",") + std::string(column) + "=" + std::string(text);
  }
  return key;
}

}  // namespace txmon

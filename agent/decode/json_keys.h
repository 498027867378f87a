// The keys of an object inside a JSON message, for messages about a
// message: which columns a Canal/Maxwell/Debezium row really has when a
// mapping names one it does not. Parses the payload anew (the decoders'
// parsers walk a message once), so it is for rare use, never per row.
// Thread-safe.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace txmon {

// The keys of the first object found along one of `paths` (each a list of
// field names from the root; a field holding an array is entered at its
// first element). Empty if the payload is not JSON or no path leads to an
// object.
std::vector<std::string> JsonObjectKeys(
    std::string_view payload, std::initializer_list<std::initializer_list<const char*>> paths);

// The string at the end of `path` (field names from the root), or empty
// when there is none or it is not a string.
std::string JsonStringAt(std::string_view payload, std::initializer_list<const char*> path);

// The primary key of row `row` of a message that lists the key's column
// names in `names_field` (Canal: "pkNames") and its rows in `rows_field`
// (Canal: "data"): "id=42", or "order_id=7,line=2". Empty if unknown.
std::string JsonRowKey(std::string_view payload, const char* names_field, const char* rows_field,
                       size_t row);

}  // namespace txmon

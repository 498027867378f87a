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

}  // namespace txmon

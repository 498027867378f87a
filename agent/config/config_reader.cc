#include "agent/config/config_reader.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace txmon {

Status ReadTextFile(const std::string& path, std::string* text) {
  std::ifstream in(path);
  if (!in) return Status::Error(path + ": cannot open: " + std::strerror(errno));
  std::stringstream content;
  content << in.rdbuf();
  *text = content.str();
  return Status::Ok();
}

Status ParseYaml(const std::string& yaml, const std::string& file, YAML::Node* root) {
  try {
    *root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Status::Error(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                         std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  return Status::Ok();
}

}  // namespace txmon

#include "tests/support/tls_files.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace txmon::test {

namespace {

// Runs a shell command; its output (stdout and stderr) in `output`.
bool RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return false;
  std::array<char, 4096> buffer;
  output->clear();
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output->append(buffer.data(), n);
  int status = pclose(pipe);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A key and a certificate for `name`, signed by the CA of the folder (or by
// itself when `signer` is empty), with the given subjectAltName.
std::string CertificateCommands(const std::string& name, const std::string& signer,
                                const std::string& san) {
  std::string key = name + ".key", csr = name + ".csr", crt = name + ".crt";
  std::string commands = "openssl req -new -newkey rsa:2048 -nodes -keyout " + key + " -out " +
                         csr + " -subj /CN=" + name + " && printf 'subjectAltName=" + san +
                         "\\n' > " + name + ".ext && ";
  if (signer.empty()) {
    return commands + "openssl x509 -req -days 2 -in " + csr + " -signkey " + key + " -out " + crt +
           " -extfile " + name + ".ext";
  }
  return commands + "openssl x509 -req -days 2 -in " + csr + " -CA " + signer + ".crt -CAkey " +
         signer + ".key -CAcreateserial -out " + crt + " -extfile " + name + ".ext";
}

}  // namespace

std::unique_ptr<TlsFiles> TlsFiles::Create(std::string* error) {
  std::string pattern = (std::filesystem::temp_directory_path() / "txmon-tls-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    *error = "mkdtemp failed";
    return nullptr;
  }
  std::unique_ptr<TlsFiles> files(new TlsFiles());
  files->directory_ = pattern;
  const std::string script =
      "cd " + pattern +
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.crt"
      " -subj /CN=txmon-test-ca && " +
      CertificateCommands("server", "ca", "IP:127.0.0.1,DNS:localhost") + " && " +
      CertificateCommands("client", "ca", "DNS:client") + " && " +
      CertificateCommands("stranger", "", "DNS:stranger");
  if (!RunCommand(script, error)) {
    *error = "openssl failed: " + *error;
    return nullptr;
  }
  return files;
}

TlsFiles::~TlsFiles() {
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string TlsFiles::BcryptHash(const std::string& user, const std::string& password,
                                 std::string* error) {
  std::string output;
  if (!RunCommand("htpasswd -nbBC 5 '" + user + "' '" + password + "'", &output)) {
    *error = "htpasswd failed: " + output;
    return "";
  }
  size_t colon = output.find(':');
  size_t end = output.find('\n');
  if (colon == std::string::npos || end == std::string::npos || end < colon) {
    *error = "unexpected htpasswd output: " + output;
    return "";
  }
  return output.substr(colon + 1, end - colon - 1);
}

std::string TlsFiles::WriteFile(const std::string& name, const std::string& text) const {
  std::string path = directory_ + "/" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace txmon::test

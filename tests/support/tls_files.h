// Certificates and password hashes for TLS and basic-auth tests, made fresh
// in a temporary folder by the tools an operator would use: `openssl` (a CA,
// a server certificate for 127.0.0.1 and localhost, a client certificate)
// and Apache's `htpasswd` (bcrypt hashes). The folder is removed on
// destruction. Threading: one owner.
#pragma once

#include <memory>
#include <string>

namespace txmon::test {

class TlsFiles {
 public:
  // Null plus `error` (with the tool's output) if a tool fails.
  static std::unique_ptr<TlsFiles> Create(std::string* error);
  ~TlsFiles();

  const std::string& directory() const { return directory_; }
  std::string ca_cert() const { return directory_ + "/ca.crt"; }
  std::string server_cert() const { return directory_ + "/server.crt"; }
  std::string server_key() const { return directory_ + "/server.key"; }
  std::string client_cert() const { return directory_ + "/client.crt"; }
  std::string client_key() const { return directory_ + "/client.key"; }
  // A certificate signed by nobody the server trusts.
  std::string stranger_cert() const { return directory_ + "/stranger.crt"; }
  std::string stranger_key() const { return directory_ + "/stranger.key"; }

  // A bcrypt hash of `password` from `htpasswd -nbBC 5`, or "" (and `error`).
  static std::string BcryptHash(const std::string& user, const std::string& password,
                                std::string* error);

  // Writes `text` to `name` in the folder; returns the path.
  std::string WriteFile(const std::string& name, const std::string& text) const;

 private:
  TlsFiles() = default;
  std::string directory_;
};

}  // namespace txmon::test

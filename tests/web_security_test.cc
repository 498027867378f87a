// --web.config.file: the exporter-toolkit format is read with positions in
// its errors; basic auth checks real htpasswd bcrypt hashes; the server
// speaks TLS with openssl-made certificates, refuses plain HTTP on its TLS
// port and, when asked, demands a client certificate from the CA.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "agent/config/web_config.h"
#include "agent/web/web_server.h"
#include "tests/support/http_client.h"
#include "tests/support/tls_files.h"

namespace txmon {
namespace {

using test::HttpClientOptions;
using test::HttpGet;
using test::TlsFiles;

constexpr char kUser[] = "prometheus";
constexpr char kPassword[] = "correct horse battery staple";

class WebSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    files_ = TlsFiles::Create(&error).release();
    ASSERT_NE(files_, nullptr) << error;
    hash_ = TlsFiles::BcryptHash(kUser, kPassword, &error);
    ASSERT_FALSE(hash_.empty()) << error;
  }
  static void TearDownTestSuite() {
    delete files_;
    files_ = nullptr;
  }

  // Parses `yaml` as a web config file in the certificates' folder.
  static Status Parse(const std::string& yaml, WebSecurity* security) {
    return ParseWebConfig(yaml, files_->directory() + "/web.yml", security);
  }
  static std::string TlsYaml(const std::string& extra = "") {
    return "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" + extra;
  }
  static std::string UsersYaml() {
    return "basic_auth_users:\n  " + std::string(kUser) + ": " + hash_ + "\n";
  }

  std::unique_ptr<WebServer> Serve(const std::string& yaml) {
    WebServerOptions options;
    options.listen_address = "127.0.0.1:0";
    Status parsed = Parse(yaml, &options.security);
    EXPECT_TRUE(parsed.ok()) << parsed.message();
    std::unique_ptr<WebServer> server;
    Status status = WebServer::Start(std::move(options), &server);
    EXPECT_TRUE(status.ok()) << status.message();
    return server;
  }
  HttpClientOptions TrustingClient(const std::string& user_password = "") const {
    HttpClientOptions client;
    client.ca_file = files_->ca_cert();
    client.user_password = user_password;
    return client;
  }
  static std::string HttpsUrl(const WebServer& server, const std::string& path) {
    return "https://127.0.0.1:" + std::to_string(server.port()) + path;
  }

  static TlsFiles* files_;
  static std::string hash_;
};

TlsFiles* WebSecurityTest::files_ = nullptr;
std::string WebSecurityTest::hash_;

TEST_F(WebSecurityTest, ReadsTheExporterToolkitFormat) {
  WebSecurity security;
  Status s = Parse(TlsYaml("  client_auth_type: RequireAndVerifyClientCert\n"
                           "  client_ca_file: ca.crt\n  min_version: TLS13\n") +
                       "http_server_config:\n  http2: false\n  headers:\n"
                       "    X-Frame-Options: deny\n" +
                       UsersYaml(),
                   &security);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(security.tls.has_value());
  EXPECT_EQ(security.tls->cert_file, files_->server_cert());  // relative to the file
  EXPECT_EQ(security.tls->key_file, files_->server_key());
  EXPECT_EQ(security.tls->client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(security.tls->client_ca_file, files_->ca_cert());
  EXPECT_EQ(security.tls->min_version, TlsVersion::kTls13);
  EXPECT_EQ(security.headers.at("X-Frame-Options"), "deny");
  EXPECT_EQ(security.users.at(kUser), hash_);
}

TEST_F(WebSecurityTest, AnEmptyFileMeansPlainHttpWithoutAuth) {
  WebSecurity security;
  ASSERT_TRUE(Parse("", &security).ok());
  EXPECT_FALSE(security.tls.has_value());
  EXPECT_TRUE(security.users.empty());
}

TEST_F(WebSecurityTest, RefusesBadFilesWithLineAndReason) {
  struct Case {
    std::string yaml;
    std::string error;  // expected after the file name
  };
  const std::vector<Case> cases = {
      {"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
       "  curve_preferences: []\n",
       ":4:3: tls_server_config: unknown field \"curve_preferences\""},
      {TlsYaml("  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, AES128-SHA]\n"),
       ":4:58: tls_server_config.cipher_suites: unknown cipher suite \"AES128-SHA\""},
      {"tls_server_config:\n  cert_file: server.crt\n",
       ":2:3: tls_server_config: missing \"key_file\" (or key)"},
      {"tls_server_config:\n  cert_file: nothing-here.crt\n  key_file: server.key\n",
       ":2:14: tls_server_config.cert_file: cannot read "},
      {TlsYaml("  client_auth_type: RequireAndVerifyClientCert\n"),
       ":2:3: tls_server_config: client_auth_type verifies certificates: set client_ca_file"},
      {TlsYaml("  client_auth_type: Sometimes\n"),
       ":4:21: tls_server_config.client_auth_type: unknown value \"Sometimes\""},
      {TlsYaml("  min_version: TLS13\n  max_version: TLS12\n"),
       ":5:16: tls_server_config.max_version: is below min_version"},
      {"basic_auth_users:\n  alice: secret\n", ":2:10: basic_auth_users.alice: not a bcrypt hash"},
      {"http_server_config:\n  headers:\n    Server: txmon\n",
       ":3:5: http_server_config.headers: unknown field \"Server\""},
      {"basic_auth_users: [alice]\n", ":1:19: basic_auth_users: expected a mapping"},
      {"tls_server_config: {cert_file: server.crt\n",
       ":2:1: invalid YAML: end of map flow not found"},
  };
  for (const Case& c : cases) {
    WebSecurity security;
    Status s = Parse(c.yaml, &security);
    ASSERT_FALSE(s.ok()) << c.yaml;
    EXPECT_NE(s.message().find(files_->directory() + "/web.yml" + c.error), std::string::npos)
        << "got: " << s.message() << "\nwant: " << c.error;
  }
}

TEST_F(WebSecurityTest, BasicAuthChecksHtpasswdHashes) {
  BasicAuthenticator auth({{kUser, hash_}});
  auto header = [](const std::string& user_password) {
    // base64 of "user:password", as curl and browsers send it.
    std::string encoded(4 * ((user_password.size() + 2) / 3) + 1, '\0');
    int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                 reinterpret_cast<const unsigned char*>(user_password.data()),
                                 static_cast<int>(user_password.size()));
    encoded.resize(static_cast<size_t>(length));
    return "Basic " + encoded;
  };
  EXPECT_TRUE(auth.Check(header(std::string(kUser) + ":" + kPassword)));
  EXPECT_TRUE(auth.Check(header(std::string(kUser) + ":" + kPassword)));  // cached verdict
  EXPECT_FALSE(auth.Check(header(std::string(kUser) + ":wrong")));
  EXPECT_FALSE(auth.Check(header(std::string("mallory:") + kPassword)));
  EXPECT_FALSE(auth.Check(header(kUser)));  // no colon
  EXPECT_FALSE(auth.Check("Bearer abc"));
  EXPECT_FALSE(auth.Check("Basic !!!!"));
  EXPECT_FALSE(auth.Check(""));
  std::string lower = header(std::string(kUser) + ":" + kPassword);
  lower.replace(0, 5, "basic");
  EXPECT_TRUE(auth.Check(lower));
}

TEST_F(WebSecurityTest, BasicAuthRefusesANulInTheCredentials) {
  BasicAuthenticator auth({{kUser, hash_}});
  auto header = [](const std::string& user_password) {
    std::string encoded(4 * ((user_password.size() + 2) / 3) + 1, '\0');
    int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                 reinterpret_cast<const unsigned char*>(user_password.data()),
                                 static_cast<int>(user_password.size()));
    encoded.resize(static_cast<size_t>(length));
    return "Basic " + encoded;
  };
  const std::string right = std::string(kUser) + ":" + kPassword;
  EXPECT_TRUE(auth.Check(header(right)));
  // The right password followed by a NUL and anything: crypt() would see
  // only the part before the NUL.
  EXPECT_FALSE(auth.Check(header(right + std::string("\0junk", 5))));
  EXPECT_FALSE(auth.Check(header(right + std::string(1, '\0'))));
  EXPECT_FALSE(auth.Check(header(std::string(kUser) + std::string("\0x", 2) + ":" + kPassword)));
}

TEST_F(WebSecurityTest, TlsWithBasicAuthAnswers401UnlessTheCredentialsAreRight) {
  auto server = Serve(TlsYaml() + UsersYaml() +
                      "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n");
  ASSERT_NE(server, nullptr);
  EXPECT_STREQ(server->scheme(), "https");
  const std::string url = HttpsUrl(*server, "/metrics");

  test::HttpResponse anonymous = HttpGet(url, TrustingClient());
  EXPECT_EQ(anonymous.status, 401) << anonymous.error;
  EXPECT_EQ(anonymous.headers["www-authenticate"], "Basic realm=\"txmon\", charset=\"UTF-8\"");
  EXPECT_EQ(HttpGet(url, TrustingClient(std::string(kUser) + ":nope")).status, 401);
  EXPECT_EQ(HttpGet(url, TrustingClient(std::string("root:") + kPassword)).status, 401);
  // Every route is behind the same credentials, unknown ones included.
  EXPECT_EQ(HttpGet(HttpsUrl(*server, "/-/healthy"), TrustingClient()).status, 401);
  EXPECT_EQ(HttpGet(HttpsUrl(*server, "/no-such-page"), TrustingClient()).status, 401);

  test::HttpResponse allowed = HttpGet(url, TrustingClient(std::string(kUser) + ":" + kPassword));
  EXPECT_EQ(allowed.status, 200) << allowed.error;
  EXPECT_NE(allowed.body.find("txmon_http_requests_total"), std::string::npos);
  EXPECT_EQ(allowed.headers["x-content-type-options"], "nosniff");
  // The refusals were counted like any other response.
  EXPECT_NE(allowed.body.find("code=\"401\",handler=\"/metrics\""), std::string::npos)
      << allowed.body;
}

TEST_F(WebSecurityTest, PlainHttpToTheTlsPortFails) {
  auto server = Serve(TlsYaml());
  ASSERT_NE(server, nullptr);
  test::HttpResponse plain =
      HttpGet("http://127.0.0.1:" + std::to_string(server->port()) + "/-/healthy");
  EXPECT_NE(plain.status, 200) << plain.body;
  // A client that does not trust the certificate refuses it.
  EXPECT_EQ(HttpGet(HttpsUrl(*server, "/-/healthy")).status, 0);
  test::HttpResponse trusted = HttpGet(HttpsUrl(*server, "/-/healthy"), TrustingClient());
  EXPECT_EQ(trusted.status, 200) << trusted.error;
}

TEST_F(WebSecurityTest, RequireAndVerifyClientCertAcceptsOnlyTheCasClients) {
  auto server =
      Serve(TlsYaml("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"));
  ASSERT_NE(server, nullptr);
  const std::string url = HttpsUrl(*server, "/-/healthy");
  EXPECT_EQ(HttpGet(url, TrustingClient()).status, 0);  // no certificate

  HttpClientOptions stranger = TrustingClient();
  stranger.client_cert_file = files_->stranger_cert();
  stranger.client_key_file = files_->stranger_key();
  EXPECT_EQ(HttpGet(url, stranger).status, 0);

  HttpClientOptions client = TrustingClient();
  client.client_cert_file = files_->client_cert();
  client.client_key_file = files_->client_key();
  test::HttpResponse response = HttpGet(url, client);
  EXPECT_EQ(response.status, 200) << response.error;
}

TEST_F(WebSecurityTest, Tls13OnlyRefusesATls12Client) {
  auto server = Serve(TlsYaml("  min_version: TLS13\n"));
  ASSERT_NE(server, nullptr);
  HttpClientOptions tls12 = TrustingClient();
  tls12.max_tls_version = "1.2";
  EXPECT_EQ(HttpGet(HttpsUrl(*server, "/-/healthy"), tls12).status, 0);
  EXPECT_EQ(HttpGet(HttpsUrl(*server, "/-/healthy"), TrustingClient()).status, 200);
}

TEST_F(WebSecurityTest, Tls12OffersOnlyForwardSecretSuitesByDefault) {
  auto server = Serve(TlsYaml());
  ASSERT_NE(server, nullptr);
  auto tls12_with = [&](const std::string& ciphers) {
    HttpClientOptions client = TrustingClient();
    client.max_tls_version = "1.2";
    client.tls12_ciphers = ciphers;
    return HttpGet(HttpsUrl(*server, "/-/healthy"), client).status;
  };
  // Static RSA key exchange: no forward secrecy, refused.
  for (const char* weak : {"AES128-SHA", "AES256-SHA256", "AES128-GCM-SHA256", "AES256-SHA"}) {
    EXPECT_EQ(tls12_with(weak), 0) << weak;
  }
  EXPECT_EQ(tls12_with("ECDHE-RSA-AES128-SHA"), 0) << "CBC suites are not in the default set";
  EXPECT_EQ(tls12_with("ECDHE-RSA-AES128-GCM-SHA256"), 200);
  EXPECT_EQ(tls12_with("ECDHE-RSA-CHACHA20-POLY1305"), 200);
}

TEST_F(WebSecurityTest, CipherSuitesTakeGoNamesAsExporterToolkitDoes) {
  WebSecurity parsed;
  ASSERT_TRUE(Parse(TlsYaml("  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
                            "    - TLS_AES_128_GCM_SHA256\n"),
                    &parsed)
                  .ok());
  EXPECT_EQ(parsed.tls->cipher_suites,
            (std::vector<std::string>{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                      "TLS_AES_128_GCM_SHA256"}));
  auto server = Serve(TlsYaml("  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]\n"));
  ASSERT_NE(server, nullptr);
  auto tls12_with = [&](const std::string& ciphers) {
    HttpClientOptions client = TrustingClient();
    client.max_tls_version = "1.2";
    client.tls12_ciphers = ciphers;
    return HttpGet(HttpsUrl(*server, "/-/healthy"), client).status;
  };
  EXPECT_EQ(tls12_with("ECDHE-RSA-AES128-GCM-SHA256"), 0) << "not in cipher_suites";
  EXPECT_EQ(tls12_with("ECDHE-RSA-AES256-GCM-SHA384"), 200);
  // TLS 1.3 keeps its own suites, as with Go.
  EXPECT_EQ(HttpGet(HttpsUrl(*server, "/-/healthy"), TrustingClient()).status, 200);
}

TEST_F(WebSecurityTest, InlinePemWorksLikeFiles) {
  std::ifstream cert(files_->server_cert()), key(files_->server_key());
  std::stringstream cert_text, key_text;
  cert_text << cert.rdbuf();
  key_text << key.rdbuf();
  auto indent = [](const std::string& pem) {
    std::string out;
    for (char c : pem) out += c == '\n' ? std::string("\n    ") : std::string(1, c);
    return out;
  };
  auto server = Serve("tls_server_config:\n  cert: |\n    " + indent(cert_text.str()) +
                      "\n  key: |\n    " + indent(key_text.str()) + "\n");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(HttpGet(HttpsUrl(*server, "/-/healthy"), TrustingClient()).status, 200);
}

TEST_F(WebSecurityTest, AKeyThatDoesNotMatchTheCertificateStopsTheStart) {
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  ASSERT_TRUE(Parse("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
                    &options.security)
                  .ok());
  std::unique_ptr<WebServer> server;
  const std::string error = WebServer::Start(std::move(options), &server).message();
  EXPECT_EQ(server, nullptr);
  EXPECT_NE(error.find("TLS: key_file " + files_->client_key() + ": "), std::string::npos) << error;
  EXPECT_NE(error.find("key values mismatch"), std::string::npos) << error;
}

}  // namespace
}  // namespace txmon

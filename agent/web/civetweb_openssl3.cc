// Lets Debian's CivetWeb 1.15 serve TLS with OpenSSL 3.
//
// CivetWeb loads OpenSSL at run time: dlopen("libssl.so") and then dlsym of
// every function it uses. OpenSSL 3 no longer exports one of them,
// SSL_get_peer_certificate (now a macro for SSL_get1_peer_certificate, which
// has the same semantics: both return a new reference), so CivetWeb's TLS
// support stays disabled.
//
// The fix is two link options on every executable that links txmon_web (see
// agent/CMakeLists.txt): the executable is given the shared-object name
// "libssl.so", so the dynamic loader answers CivetWeb's dlopen("libssl.so")
// with the executable itself, and it exports the function below. CivetWeb's
// dlsym then searches the executable and its dependencies: it finds the old
// name here and every other function in the real libssl.so.3 that the
// executable links against.
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

extern "C" X509* SSL_get_peer_certificate(const SSL* ssl);
extern "C" X509* SSL_get_peer_certificate(const SSL* ssl) { return SSL_get1_peer_certificate(ssl); }

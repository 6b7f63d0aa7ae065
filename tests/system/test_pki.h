// Certificates for the mTLS system tests, made with the openssl CLI as an
// operator would: CAs, and leaf certificates for both ends of a connection,
// valid or expired.
#ifndef LIAISON_TESTS_SYSTEM_TEST_PKI_H_
#define LIAISON_TESTS_SYSTEM_TEST_PKI_H_

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace liaison::testing {

// What the services' certificates name: the address they are dialled at.
inline const std::string kLoopback = "IP:127.0.0.1,DNS:localhost";

// Certificates and keys as PEM files under one directory: <name>.pem and
// <name>.key, made with the openssl CLI. Starts with two unrelated CAs, "ca"
// and "other-ca".
class Pki final {
 public:
  explicit Pki(const TempDir& dir) : dir_(dir.path()) {
    Ca("ca");
    Ca("other-ca");
  }

  std::string Cert(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string Key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

  // A self-signed CA, valid for two days.
  void Ca(const std::string& name) {
    Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", Key(name), "-out", Cert(name), "-days", "2", "-subj",
             "/CN=Liaison test " + name, "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  }

  // A certificate for both ends of a connection (serverAuth and clientAuth)
  // signed by `ca`, naming `san` ("IP:127.0.0.1,DNS:localhost"): valid for
  // two days from now, or, if `expired`, for January 2025 only.
  void Leaf(const std::string& name, const std::string& ca, const std::string& san,
            bool expired = false) {
    const std::string csr = dir_ + "/" + name + ".csr";
    const std::string extensions = dir_ + "/" + name + ".ext";
    std::ofstream(extensions) << "basicConstraints=CA:FALSE\n"
                              << "keyUsage=critical,digitalSignature\n"
                              << "extendedKeyUsage=serverAuth,clientAuth\n"
                              << "subjectAltName=" << san << "\n";
    Openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", Key(name), "-out", csr, "-subj", "/CN=" + name});
    if (!expired) {
      Openssl({"x509", "-req", "-in", csr, "-CA", Cert(ca), "-CAkey", Key(ca), "-days", "2",
               "-extfile", extensions, "-out", Cert(name)});
      return;
    }
    // `openssl ca` is the CLI's way to choose both dates.
    const std::string db = dir_ + "/" + name + "-db";
    std::filesystem::create_directories(db);
    std::ofstream(db + "/index.txt");
    std::ofstream(db + "/serial") << "1000\n";
    std::ofstream(db + "/ca.cnf") << "[ca]\ndefault_ca = test\n[test]\n"
                                  << "database = " << db << "/index.txt\n"
                                  << "new_certs_dir = " << db << "\n"
                                  << "serial = " << db << "/serial\n"
                                  << "default_md = sha256\npolicy = any\n[any]\n"
                                  << "commonName = supplied\n";
    Openssl({"ca", "-batch", "-notext", "-config", db + "/ca.cnf", "-cert", Cert(ca), "-keyfile",
             Key(ca), "-in", csr, "-extfile", extensions, "-startdate", "20250101000000Z",
             "-enddate", "20250201000000Z", "-out", Cert(name)});
  }

  // Leaf(name, "ca", kLoopback) for each of `names`.
  void Leaves(std::initializer_list<const char*> names) {
    for (const char* name : names) Leaf(name, "ca", kLoopback);
  }

  // The flags that make a service serve and call with `name`'s certificate,
  // trusting `ca`.
  std::vector<std::string> ServiceFlags(const std::string& name,
                                        const std::string& ca = "ca") const {
    return {"--tls-cert-file", Cert(name), "--tls-key-file", Key(name), "--tls-ca-file", Cert(ca)};
  }

 private:
  static void Openssl(std::vector<std::string> args) {
    args.insert(args.begin(), LIAISON_OPENSSL);
    CommandResult result = RunCommand(args);
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
  }

  std::string dir_;
};

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SYSTEM_TEST_PKI_H_

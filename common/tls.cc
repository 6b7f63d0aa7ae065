#include "common/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace liaison {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A file named by `flag`, whole.
absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in `pem`, in order; empty if there is none.
std::vector<Cert> ParseCertificates(const std::string& pem) {
  std::vector<Cert> certs;
  Bio bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the input reads as an error
  return certs;
}

std::string TimeText(const ASN1_TIME* time) {
  Bio bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), time);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::Status CheckCurrent(const std::string& path, X509* cert) {
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--tls-cert-file: the certificate in ", path,
                                                   " expired on ",
                                                   TimeText(X509_get0_notAfter(cert))));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--tls-cert-file: the certificate in ", path,
                                                   " is not valid before ",
                                                   TimeText(X509_get0_notBefore(cert))));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<TlsFiles>> LoadTlsFiles(const ServerConfig& config) {
  const int set =
      !config.tls_cert_file.empty() + !config.tls_key_file.empty() + !config.tls_ca_file.empty();
  if (set == 0) return std::nullopt;
  if (set != 3) {
    return absl::InvalidArgumentError(
        "mTLS needs all of --tls-cert-file, --tls-key-file and --tls-ca-file");
  }
  TlsFiles files;
  ASSIGN_OR_RETURN(files.cert_chain, ReadFlagFile("tls-cert-file", config.tls_cert_file));
  ASSIGN_OR_RETURN(files.private_key, ReadFlagFile("tls-key-file", config.tls_key_file));
  ASSIGN_OR_RETURN(files.ca_bundle, ReadFlagFile("tls-ca-file", config.tls_ca_file));

  std::vector<Cert> chain = ParseCertificates(files.cert_chain);
  if (chain.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-cert-file: ", config.tls_cert_file, " holds no PEM certificate"));
  }
  if (ParseCertificates(files.ca_bundle).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-ca-file: ", config.tls_ca_file, " holds no PEM certificate"));
  }
  Bio key_bio = MemoryBio(files.private_key);
  Pkey key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("--tls-key-file: ", config.tls_key_file,
                                                   " holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("--tls-key-file: ", config.tls_key_file,
                                                   " is not the key of the certificate in ",
                                                   config.tls_cert_file));
  }
  RETURN_IF_ERROR(CheckCurrent(config.tls_cert_file, chain.front().get()));
  return files;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const ServerConfig& config) {
  ASSIGN_OR_RETURN(std::optional<TlsFiles> files, LoadTlsFiles(config));
  if (!files.has_value()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = std::move(files->ca_bundle);
  options.pem_key_cert_pairs.push_back(
      {std::move(files->private_key), std::move(files->cert_chain)});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFor(
    const ServerConfig& config) {
  ASSIGN_OR_RETURN(std::optional<TlsFiles> files, LoadTlsFiles(config));
  if (!files.has_value()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = std::move(files->ca_bundle);
  options.pem_private_key = std::move(files->private_key);
  options.pem_cert_chain = std::move(files->cert_chain);
  return grpc::SslCredentials(options);
}

}  // namespace liaison

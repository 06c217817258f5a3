#include "http/request_header_check.hpp"

#include <string>

#include <gtest/gtest.h>

namespace flint::http {
namespace {

Request header(Method method, std::string target, unsigned version = 11) {
  Request request(method, target, version);
  if (version >= 11) request.set(beast_http::field::host, "flint");
  return request;
}

std::string refusal_of(Request request, Status expected) {
  const auto refusal = refuse_request_header(request);
  if (!refusal) return "served";
  EXPECT_EQ(refusal->result(), expected);
  EXPECT_FALSE(refusal->keep_alive());
  return refusal->body();
}

TEST(RequestHeaderCheck, AnOrdinaryRequestIsServedAsItIs) {
  Request request = header(Method::post, "/api/driver/lifecycle/execute?x=1");
  request.set(beast_http::field::transfer_encoding, "chunked");
  EXPECT_FALSE(refuse_request_header(request));
  EXPECT_EQ(request.target(), "/api/driver/lifecycle/execute?x=1");
  Request old = header(Method::get, "/", 10);  // no Host in HTTP/1.0
  EXPECT_FALSE(refuse_request_header(old));
}

TEST(RequestHeaderCheck, TransferEncodingMustEndWithChunkedAlone) {
  for (const char* coding : {"gzip", "chunked, gzip", "identity", "", " , "}) {
    Request request = header(Method::post, "/x");
    request.set(beast_http::field::transfer_encoding, coding);
    EXPECT_NE(refusal_of(request, Status::bad_request).find("must end with the chunked coding"),
              std::string::npos)
        << coding;
  }
  Request twice = header(Method::post, "/x");
  twice.insert(beast_http::field::transfer_encoding, "chunked");
  twice.insert(beast_http::field::transfer_encoding, "Chunked");
  EXPECT_NE(refusal_of(twice, Status::bad_request).find("chunked applied more than once"),
            std::string::npos);
  Request gzip = header(Method::post, "/x");
  gzip.set(beast_http::field::transfer_encoding, "gzip , CHUNKED");
  EXPECT_NE(refusal_of(gzip, Status::not_implemented).find("gzip is not supported"),
            std::string::npos);
  Request old = header(Method::post, "/x", 10);
  old.set(beast_http::field::transfer_encoding, "chunked");
  EXPECT_NE(refusal_of(old, Status::bad_request).find("HTTP/1.0"), std::string::npos);
}

TEST(RequestHeaderCheck, HostIsRequiredOnceInHttp11) {
  Request none(Method::get, "/", 11);
  EXPECT_NE(refusal_of(none, Status::bad_request).find("Host: required"), std::string::npos);
  Request twice = header(Method::get, "/");
  twice.insert(beast_http::field::host, "other");
  EXPECT_NE(refusal_of(twice, Status::bad_request).find("more than once"), std::string::npos);
}

TEST(RequestHeaderCheck, UnknownMethodsAre501WithTheirNameCut) {
  Request request = header(Method::get, "/");
  request.method_string(std::string(100, 'X'));
  const std::string body = refusal_of(request, Status::not_implemented);
  EXPECT_NE(body.find(std::string(32, 'X') + "... is not implemented"), std::string::npos) << body;
}

TEST(RequestHeaderCheck, TargetsAreOriginFormOrReducedToIt) {
  Request absolute = header(Method::get, "HTTPS://flint.example:8443/management/health?a=b");
  EXPECT_FALSE(refuse_request_header(absolute));
  EXPECT_EQ(absolute.target(), "/management/health?a=b");
  Request bare = header(Method::get, "http://flint.example");
  EXPECT_FALSE(refuse_request_header(bare));
  EXPECT_EQ(bare.target(), "/");
  Request query = header(Method::get, "http://flint.example?q");
  EXPECT_FALSE(refuse_request_header(query));
  EXPECT_EQ(query.target(), "/?q");
  Request asterisk = header(Method::options, "*");
  EXPECT_FALSE(refuse_request_header(asterisk));
  EXPECT_NE(refusal_of(header(Method::get, "management/health"), Status::bad_request)
                .find("expected a path starting with '/'"),
            std::string::npos);
  EXPECT_NE(refusal_of(header(Method::get, "*"), Status::bad_request).find("expected a path"),
            std::string::npos);
}

TEST(RequestHeaderCheck, RefusalsEchoTheTenantId) {
  Request unknown(beast_http::verb::unknown, "/", 11);
  unknown.method_string("FOO");
  unknown.set(beast_http::field::host, "flint");
  unknown.set("TENANTID", "t-1");
  const auto refusal = refuse_request_header(unknown);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->result(), Status::not_implemented);
  EXPECT_EQ((*refusal)["tenantId"], "t-1");

  Request gzip = header(Method::post, "/x");
  gzip.set(beast_http::field::transfer_encoding, "gzip");
  gzip.set("tenantId", "t-2");
  EXPECT_EQ((*refuse_request_header(gzip))["tenantId"], "t-2");

  Request empty = header(Method::post, "/x");
  empty.set(beast_http::field::transfer_encoding, "gzip");
  empty.set("tenantId", "");
  EXPECT_EQ(refuse_request_header(empty)->count("tenantId"), 0u);
}

TEST(RequestHeaderCheck, HostMustBeAHostAndAnOptionalPort) {
  for (const char* host : {"flint", "flint.example:8290", "127.0.0.1:80", "[::1]:8290", "[::1]",
                           "[fe80::1%25eth0]:80", "xn--bcher-kva.example", "a%41b", ""}) {
    Request request = header(Method::get, "/");
    request.set(beast_http::field::host, host);
    EXPECT_FALSE(refuse_request_header(request)) << host;
  }
  for (const char* host : {"a, b", "a b/c@d", "exa mple.com:99x", "h:8o", "[::1", "[::1]x", "a/b",
                           "\xc3\xa9t\xc3\xa9", "a%4"}) {
    Request request = header(Method::get, "/");
    request.set(beast_http::field::host, host);
    EXPECT_NE(refusal_of(request, Status::bad_request).find("Host: expected a host name"),
              std::string::npos)
        << host;
  }
}

TEST(RequestHeaderCheck, TargetsHoldPrintableAsciiAndWellFormedEscapes) {
  // RFC 3986's characters, and what request ids may hold and clients send
  // unencoded in practice.
  for (const char* target :
       {"/a/b?c=d&e=%2F", "/x:y@z/-._~!$&'()*+,;=", "/%7e",
        "/api/driver/lifecycle/executions/{GUID}", "/task|42", "/vim[7]", "/a^b`c<d>"}) {
    Request request = header(Method::get, target);
    EXPECT_FALSE(refuse_request_header(request)) << target;
  }
  for (const char* target :
       {"/management/health\xff", "/a\"b", "/a\\b", "/a%zz", "/a%4", "/a#b", "http://h/\xc3\xa9"}) {
    EXPECT_NE(refusal_of(header(Method::get, target), Status::bad_request)
                  .find("only printable ASCII is allowed"),
              std::string::npos)
        << target;
  }
}

TEST(RequestHeaderCheck, AnAbsoluteTargetNamesAHostAndNoUser) {
  for (const char* target : {"http:///management/health", "http://user:pw@h/management/health",
                             "https://@h/", "http:// h/"}) {
    EXPECT_NE(refusal_of(header(Method::get, target), Status::bad_request)
                  .find("an absolute URI needs a host"),
              std::string::npos)
        << target;
  }
}

TEST(RequestHeaderCheck, ContentTypeIsSentOnce) {
  Request twice = header(Method::post, "/x");
  twice.insert(beast_http::field::content_type, "application/json");
  twice.insert(beast_http::field::content_type, "text/plain");
  EXPECT_NE(refusal_of(twice, Status::bad_request).find("Content-Type: sent more than once"),
            std::string::npos);
}

TEST(RequestHeaderCheck, TenantIdIsOneUtf8Value) {
  Request twice = header(Method::post, "/x");
  twice.insert("tenantId", "t-1");
  twice.insert("TENANTID", "t-2");
  EXPECT_NE(refusal_of(twice, Status::bad_request).find("tenantId: sent more than once"),
            std::string::npos);
  EXPECT_EQ(refuse_request_header(twice)->count("tenantId"), 0u);  // which one would it be?

  Request latin1 = header(Method::post, "/x");
  latin1.set("tenantId", "Soci\xe9t\xe9");
  EXPECT_NE(refusal_of(latin1, Status::bad_request).find("tenantId: not valid UTF-8"),
            std::string::npos);
  EXPECT_EQ(refuse_request_header(latin1)->count("tenantId"), 0u);  // not echoed either

  Request utf8 = header(Method::post, "/x");
  utf8.set("tenantId", "Soci\xc3\xa9t\xc3\xa9");
  EXPECT_FALSE(refuse_request_header(utf8));
}

TEST(RequestHeaderCheck, EveryConnectionFieldCountsForKeepAlive) {
  Request plain = header(Method::get, "/");
  EXPECT_TRUE(keeps_alive(plain));
  Request second_line = header(Method::get, "/");
  second_line.insert(beast_http::field::connection, "keep-alive");
  second_line.insert(beast_http::field::connection, "Close");
  EXPECT_TRUE(second_line.keep_alive());  // Beast reads the first line only
  EXPECT_FALSE(keeps_alive(second_line));
  Request listed = header(Method::get, "/");
  listed.set(beast_http::field::connection, "upgrade, close");
  EXPECT_FALSE(keeps_alive(listed));
  Request old = header(Method::get, "/", 10);
  EXPECT_FALSE(keeps_alive(old));
  old.set(beast_http::field::connection, "Keep-Alive");
  EXPECT_TRUE(keeps_alive(old));
}

TEST(RequestHeaderCheck, ChunkExtensionsHoldNoControlCharacter) {
  using namespace std::string_literals;
  for (const std::string& extensions :
       {""s, ";a=b"s, ";a=\"x y\\\"z\""s, "; a = b ;c"s, ";a=\"\t\x80\xff\""s}) {
    boost::system::error_code ec;
    check_chunk_extensions(4, extensions, ec);
    EXPECT_FALSE(ec) << extensions;
  }
  for (const std::string& extensions :
       {";ext=\"\naaa\""s, ";a=\"\x00\x01\""s, ";a=\"\x7f\""s, ";a=\"x\ry\""s}) {
    boost::system::error_code ec;
    check_chunk_extensions(4, extensions, ec);
    EXPECT_EQ(ec, beast_http::error::bad_chunk_extension) << extensions;
  }
}

TEST(RequestHeaderCheck, TrailerFieldsAreDroppedHeaderFieldsKept) {
  Request request = header(Method::post, "/x");
  request.set("tenantId", "tenant-A");
  request.set(beast_http::field::transfer_encoding, "chunked");
  const auto header_fields = header_field_nodes(request);
  // As Beast adds trailers: beside the header's field of the same name.
  request.insert("tenantId", "tenant-B");
  request.insert(beast_http::field::connection, "close");
  request.insert(beast_http::field::content_type, "application/json");
  drop_trailer_fields(request, header_fields);
  EXPECT_EQ(request.count("tenantId"), 1u);
  EXPECT_EQ(request["tenantId"], "tenant-A");
  EXPECT_EQ(request.count(beast_http::field::connection), 0u);
  EXPECT_EQ(request.count(beast_http::field::content_type), 0u);
  EXPECT_EQ(request[beast_http::field::host], "flint");
}

}  // namespace
}  // namespace flint::http

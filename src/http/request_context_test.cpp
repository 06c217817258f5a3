#include "http/request_context.hpp"

#include <gtest/gtest.h>

namespace flint::http {
namespace {

TEST(RequestContext, TraceHeadersBecomeLowerCasedLogFields) {
  Request request(Method::post, "/api/driver/lifecycle/execute?x=1", 11);
  request.set("X-TraceCtx-TransactionId", "tx-9");
  request.set("x-tracectx-ProcessId", "p-1");
  request.set("tenantId", "tenant-a");
  request.set("X-Other", "ignored");
  const auto context = RequestContext::from(request);
  EXPECT_EQ(context.path, "/api/driver/lifecycle/execute");
  EXPECT_EQ(context.tenant_id, "tenant-a");
  const logging::LogFields expected{
      {"tracectx.transactionid", "tx-9"}, {"tracectx.processid", "p-1"}, {"tenantId", "tenant-a"}};
  EXPECT_EQ(context.log_fields, expected);
}

TEST(RequestContext, ARepeatedTraceHeaderIsOneFieldWithEveryValue) {
  Request request(Method::post, "/", 11);
  request.insert("x-tracectx-E", "e1");
  request.insert("X-TraceCtx-e", "e2");
  const logging::LogFields expected{{"tracectx.e", "e1, e2"}};
  EXPECT_EQ(RequestContext::from(request).log_fields, expected);
}

TEST(RequestContext, BarePrefixIsNotATraceField) {
  Request request(Method::get, "/", 11);
  request.set("x-tracectx-", "nothing");
  EXPECT_TRUE(RequestContext::from(request).log_fields.empty());
}

}  // namespace
}  // namespace flint::http

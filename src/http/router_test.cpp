#include "http/router.hpp"

#include <gtest/gtest.h>

namespace flint::http {
namespace {

Handler ok_handler() {
  return
      [](Request&, RequestContext&) -> boost::asio::awaitable<Response> { co_return Response{}; };
}

TEST(Router, ExactRouteMatchesOnlyItsMethodAndPath) {
  Router router;
  router.add(Method::post, "/api/driver/lifecycle/execute", ok_handler());
  const auto hit = router.find(Method::post, "/api/driver/lifecycle/execute");
  ASSERT_NE(hit.handler, nullptr);
  EXPECT_EQ(hit.route, "/api/driver/lifecycle/execute");

  const auto miss = router.find(Method::post, "/api/driver/lifecycle/execute/x");
  EXPECT_EQ(miss.handler, nullptr);
  EXPECT_FALSE(miss.method_not_allowed);
  EXPECT_EQ(miss.route, "unmatched");
}

TEST(Router, AMatchCarriesTheBodyMediaTypeItsRouteWants) {
  Router router;
  router.add(Method::post, "/json", ok_handler(), "application/json");
  router.add(Method::post, "/any", ok_handler());
  EXPECT_EQ(router.find(Method::post, "/json").body_media_type, "application/json");
  EXPECT_EQ(router.find(Method::post, "/any").body_media_type, "");
  EXPECT_EQ(router.find(Method::get, "/json").body_media_type, "");  // 405: no handler
}

TEST(Router, WrongMethodReportsAllowedOnes) {
  Router router;
  router.add(Method::post, "/a", ok_handler());
  router.add(Method::put, "/a", ok_handler());
  const auto match = router.find(Method::get, "/a");
  EXPECT_EQ(match.handler, nullptr);
  EXPECT_TRUE(match.method_not_allowed);
  EXPECT_EQ(match.allow, "POST, PUT");
}

TEST(Router, GetRoutesAnswerHeadAndSaySo) {
  Router router;
  router.add(Method::get, "/a", ok_handler());
  const auto head = router.find(Method::head, "/a");
  EXPECT_NE(head.handler, nullptr);
  EXPECT_EQ(head.route, "/a");
  const auto post = router.find(Method::post, "/a");
  EXPECT_TRUE(post.method_not_allowed);
  EXPECT_EQ(post.allow, "GET, HEAD");
  router.add(Method::post, "/b", ok_handler());
  EXPECT_TRUE(router.find(Method::head, "/b").method_not_allowed);
}

TEST(Router, PrefixRouteMatchesEverythingBelow) {
  Router router;
  router.add_prefix(Method::get, "/api/driver/ui/", ok_handler());
  EXPECT_NE(router.find(Method::get, "/api/driver/ui/index.html").handler, nullptr);
  EXPECT_EQ(router.find(Method::get, "/api/driver/ui").handler, nullptr);
}

}  // namespace
}  // namespace flint::http

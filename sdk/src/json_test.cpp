#include <cmath>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

namespace flint::sdk::json {
namespace {

namespace bj = boost::json;

bj::value parse(std::string_view text) {
  return bj::parse(text);
}

// The message of the InvalidRequestError that `call` throws.
template <typename Call>
std::string error_of(Call call) {
  try {
    call();
  } catch (const InvalidRequestError& error) {
    return error.what();
  }
  return "<no error>";
}

// ---- property maps --------------------------------------------------------

TEST(PropertyMapCodec, DecodesTypesValuesAndOrder) {
  auto map = decode_property_map(parse(R"({
      "zeta": {"type": "string", "value": "z"},
      "alpha": {"type": "integer", "value": 3},
      "flag": {"type": "boolean", "value": true},
      "nothing": {"type": "string"},
      "list": {"type": "list", "value": [1, "two"]},
      "custom": {"type": "vendorThing", "value": {"a": 1}, "extra": 5}
  })"),
                                 "resourceProperties");
  std::vector<std::string> names;
  for (const auto& entry : map) names.push_back(entry.first);
  EXPECT_EQ(names,
            (std::vector<std::string>{"zeta", "alpha", "flag", "nothing", "list", "custom"}));
  EXPECT_EQ(map.at("zeta").as_string(), "z");
  EXPECT_EQ(map.at("alpha").as_integer(), 3);
  EXPECT_EQ(map.at("flag").as_boolean(), true);
  EXPECT_TRUE(map.at("nothing").value().is_null());
  EXPECT_EQ(map.at("list").value(), parse(R"([1,"two"])"));
  EXPECT_EQ(map.at("custom").type(), "vendorThing");
  EXPECT_EQ(map.at("custom").value(), parse(R"({"a":1})"));
}

TEST(PropertyMapCodec, RoundTripKeepsOrderAndCustomTypes) {
  const char* wire =
      R"({"b":{"type":"string","value":"x"},"a":{"type":"float","value":1.5E0},)"
      R"("t":{"type":"timestamp","value":"2024-01-01T00:00:00Z"},)"
      R"("m":{"type":"map","value":{"k":[1,2]}},"c":{"type":"myCustom","value":null}})";
  auto map = decode_property_map(parse(wire), "p");
  EXPECT_EQ(bj::serialize(encode(map)), wire);
  EXPECT_EQ(decode_property_map(encode(map), "p"), map);
}

TEST(PropertyMapCodec, KeyMaterialRoundTrip) {
  const char* wire =
      R"({"ssh":{"type":"key","keyName":"deploy","privateKey":"-----BEGIN PRIVATE KEY-----\nA",)"
      R"("publicKey":"ssh-rsa B"},)"
      R"("tls":{"type":"key","privateKey":"PEM","value":"tlsKey"}})";
  auto map = decode_property_map(parse(wire), "resourceProperties");
  const auto* ssh = map.at("ssh").key_material();
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->key_name, "deploy");
  EXPECT_EQ(ssh->private_key, "-----BEGIN PRIVATE KEY-----\nA");
  EXPECT_EQ(ssh->public_key, "ssh-rsa B");
  EXPECT_TRUE(map.at("ssh").value().is_null());
  const auto* tls = map.at("tls").key_material();
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->key_name, "");
  EXPECT_EQ(tls->public_key, std::nullopt);
  EXPECT_EQ(map.at("tls").as_string(), "tlsKey");

  EXPECT_EQ(
      bj::serialize(encode(map)),
      R"({"ssh":{"type":"key","keyName":"deploy","privateKey":"-----BEGIN PRIVATE KEY-----\nA",)"
      R"("publicKey":"ssh-rsa B"},)"
      R"("tls":{"type":"key","keyName":"","privateKey":"PEM","value":"tlsKey"}})");
  EXPECT_EQ(decode_property_map(encode(map), "x"), map);

  // The redacted view never shows the private key.
  const auto redacted = bj::serialize(map.redacted());
  EXPECT_EQ(redacted.find("BEGIN"), std::string::npos);
  EXPECT_EQ(redacted.find("PEM"), std::string::npos);
  EXPECT_NE(redacted.find(R"("privateKey":"****")"), std::string::npos);
}

TEST(PropertyMapCodec, FactoryKeyEncodesKeyNameAsValue) {
  PropertyMap map{{"k", Property::key({"name", "PEM", std::nullopt})}};
  EXPECT_EQ(bj::serialize(encode(map)),
            R"({"k":{"type":"key","keyName":"name","privateKey":"PEM","value":"name"}})");
}

TEST(PropertyMapCodec, InvalidShapes) {
  auto decode = [](std::string_view text, std::string_view path = "systemProperties") {
    return error_of([&] { (void)decode_property_map(parse(text), path); });
  };
  EXPECT_EQ(decode("[]"), "systemProperties: expected an object");
  EXPECT_EQ(decode("null"), "systemProperties: expected an object");
  EXPECT_EQ(decode(R"({"resourceId": "abc"})"),
            R"(systemProperties.resourceId: expected an object with "type")");
  EXPECT_EQ(decode(R"({"resourceId": {"value": "abc"}})"),
            R"(systemProperties.resourceId: expected an object with "type")");
  EXPECT_EQ(decode(R"({"resourceId": null})"),
            R"(systemProperties.resourceId: expected an object with "type")");
  EXPECT_EQ(decode(R"({"resourceId": {"type": 3}})"),
            "systemProperties.resourceId.type: expected a string");
  EXPECT_EQ(decode(R"({"k": {"type": "key", "keyName": "n"}})"),
            "systemProperties.k.privateKey: required");
  EXPECT_EQ(decode(R"({"k": {"type": "key", "privateKey": null}})"),
            "systemProperties.k.privateKey: required");
  EXPECT_EQ(decode(R"({"k": {"type": "key", "privateKey": 1}})"),
            "systemProperties.k.privateKey: expected a string");
  EXPECT_EQ(decode(R"({"k": {"type": "key", "privateKey": ""}})"),
            "systemProperties.k.privateKey: must not be empty");
  EXPECT_EQ(decode(R"({"k": {"type": "key", "privateKey": "P", "keyName": 1}})"),
            "systemProperties.k.keyName: expected a string");
  EXPECT_EQ(decode(R"({"k": {"type": "key", "privateKey": "P", "publicKey": []}})"),
            "systemProperties.k.publicKey: expected a string");
  EXPECT_EQ(decode(R"({"a": 1})", ""), R"(a: expected an object with "type")");
  // A name over kMaxNameBytes: only its start is quoted.
  const std::string long_name(kMaxNameBytes + 1, 'n');
  EXPECT_EQ(decode(R"({")" + long_name + R"(": {"type": "string"}})"),
            "systemProperties: the name \"" + long_name.substr(0, 32) +
                "...\" is longer than 1024 bytes");
  EXPECT_EQ(decode(R"({")" + long_name.substr(1) + R"(": {"type": "string"}})"), "<no error>");
  EXPECT_EQ(decode(R"({"a\u0000b": {"type": "string"}})"),
            "systemProperties: the name \"a?b\" has a control character");
}

TEST(PropertyMapCodec, DecodedValuesOutliveTheParserBuffer) {
  PropertyMap map;
  {
    bj::monotonic_resource arena;
    bj::value doc = bj::parse(R"({"m":{"type":"map","value":{"deep":["x","y"]}}})", &arena);
    map = decode_property_map(doc, "p");
  }
  EXPECT_EQ(bj::serialize(map.at("m").value()), R"({"deep":["x","y"]})");
}

// ---- topology -------------------------------------------------------------

TEST(TopologyCodec, RoundTripKeepsOrder) {
  const char* wire = R"({"vm2":{"id":"b","type":"Openstack"},"vm1":{"id":"a","type":"Openstack"}})";
  auto topology = decode_topology(parse(wire), "associatedTopology");
  ASSERT_EQ(topology.size(), 2u);
  EXPECT_EQ(topology.begin()->first, "vm2");
  EXPECT_EQ(bj::serialize(encode(topology)), wire);
}

TEST(TopologyCodec, ExtraFieldsAreIgnored) {
  auto topology = decode_topology(parse(R"({"vm":{"id":"a","type":"t","note":1}})"), "t");
  EXPECT_EQ(topology.find("vm")->value(), (TopologyEntry{"a", "t"}));
}

TEST(TopologyCodec, RemovalsEncodeAsNull) {
  AssociatedTopology topology;
  topology.add("keep", {"1", "t"});
  topology.remove("gone");
  EXPECT_EQ(bj::serialize(encode(topology)), R"({"keep":{"id":"1","type":"t"},"gone":null})");
  EXPECT_EQ(decode_output_topology(encode(topology), "x"), topology);
}

TEST(TopologyCodec, InvalidShapes) {
  auto decode = [](std::string_view text) {
    return error_of([&] { (void)decode_topology(parse(text), "associatedTopology"); });
  };
  EXPECT_EQ(decode("[]"), "associatedTopology: expected an object");
  EXPECT_EQ(decode(R"({"vm1": null})"),
            R"(associatedTopology.vm1: expected an object with "id" and "type")");
  EXPECT_EQ(decode(R"({"vm1": "x"})"),
            R"(associatedTopology.vm1: expected an object with "id" and "type")");
  EXPECT_EQ(decode(R"({"vm1": {"type": "t"}})"), "associatedTopology.vm1.id: required");
  EXPECT_EQ(decode(R"({"vm1": {"id": 5, "type": "t"}})"),
            "associatedTopology.vm1.id: expected a string");
  EXPECT_EQ(decode(R"({"vm1": {"id": "a"}})"), "associatedTopology.vm1.type: required");
  EXPECT_EQ(decode(R"({"vm1": {"id": "a", "type": false}})"),
            "associatedTopology.vm1.type: expected a string");
  EXPECT_EQ(error_of([] { (void)decode_output_topology(parse(R"({"vm1": 1})"), "out"); }),
            R"(out.vm1: expected an object with "id" and "type", or null)");
}

// ---- deployment location ----------------------------------------------------

TEST(DeploymentLocationCodec, RoundTrip) {
  const char* wire =
      R"({"name":"edge-1","type":"Kubernetes","properties":{"url":"https://k","token":"t"}})";
  auto location = decode_deployment_location(parse(wire), "deploymentLocation");
  EXPECT_EQ(location.name, "edge-1");
  EXPECT_EQ(location.type, "Kubernetes");
  EXPECT_EQ(location.properties.at("token").as_string(), "t");
  EXPECT_EQ(bj::serialize(encode(location)), wire);
}

TEST(DeploymentLocationCodec, OptionalFieldsDefault) {
  auto location = decode_deployment_location(parse(R"({"name":"x","type":null})"), "dl");
  EXPECT_EQ(location, (DeploymentLocation{"x", "", {}}));
  EXPECT_EQ(bj::serialize(encode(location)), R"({"name":"x","type":"","properties":{}})");
}

TEST(DeploymentLocationCodec, InvalidShapes) {
  auto decode = [](std::string_view text) {
    return error_of([&] { (void)decode_deployment_location(parse(text), "deploymentLocation"); });
  };
  EXPECT_EQ(decode("\"x\""), "deploymentLocation: expected an object");
  EXPECT_EQ(decode("{}"), "deploymentLocation.name: required");
  EXPECT_EQ(decode(R"({"name": null})"), "deploymentLocation.name: required");
  EXPECT_EQ(decode(R"({"name": 1})"), "deploymentLocation.name: expected a string");
  EXPECT_EQ(decode(R"({"name": ""})"), "deploymentLocation.name: must not be empty");
  EXPECT_EQ(decode(R"({"name": "x", "type": 2})"), "deploymentLocation.type: expected a string");
  EXPECT_EQ(decode(R"({"name": "x", "properties": []})"),
            "deploymentLocation.properties: expected an object");
  const std::string long_text(kMaxNameBytes + 1, 'x');
  EXPECT_EQ(decode(R"({"name": ")" + long_text + R"("})"),
            "deploymentLocation.name: is longer than 1024 bytes");
  EXPECT_EQ(decode(R"({"name": "x", "type": ")" + long_text + R"("})"),
            "deploymentLocation.type: is longer than 1024 bytes");
  EXPECT_EQ(decode(R"({"name": "a\tb"})"), "deploymentLocation.name: has a control character");
}

TEST(DeploymentLocation, RedactedHidesSecretsAtAnyDepth) {
  DeploymentLocation location{
      "dc1",
      "Openstack",
      {{"os_auth_url", "https://keystone"},
       {"os_password", "pw"},
       {"auth", bj::object{{"username", "admin"}, {"apiKey", "k"}, {"projectKey", nullptr}}},
       {"certs", bj::array{"-----BEGIN EC PRIVATE KEY-----\nA", "public cert"}},
       {"sshKey", bj::object{{"a", 1}}}}};
  EXPECT_EQ(bj::serialize(location.redacted()),
            R"({"name":"dc1","type":"Openstack","properties":{"os_auth_url":"https://keystone",)"
            R"("os_password":"****","auth":{"username":"admin","apiKey":"****","projectKey":null},)"
            R"("certs":["****","public cert"],"sshKey":"****"}})");
}

// ---- executions and replies ------------------------------------------------

TEST(LifecycleExecutionCodec, EncodesCompleteInContractOrder) {
  AssociatedTopology topology;
  topology.add("vm", {"1", "Openstack"});
  topology.remove("old");
  auto execution = LifecycleExecution::complete("r1", {{"ip", "10.0.0.1"}}, topology);
  EXPECT_EQ(bj::serialize(encode(execution)),
            R"({"requestId":"r1","status":"COMPLETE","outputs":{"ip":"10.0.0.1"},)"
            R"("associatedTopology":{"vm":{"id":"1","type":"Openstack"},"old":null},)"
            R"("version":"1.0.0"})");
  EXPECT_EQ(decode_lifecycle_execution(encode(execution), ""), execution);
}

TEST(LifecycleExecutionCodec, EncodesFailedAndInProgress) {
  auto failed = LifecycleExecution::failed("r2", FailureCode::infrastructure_error, "boom");
  EXPECT_EQ(bj::serialize(encode(failed)),
            R"({"requestId":"r2","status":"FAILED","failureDetails":)"
            R"({"failureCode":"INFRASTRUCTURE_ERROR","description":"boom"},)"
            R"("outputs":{},"associatedTopology":{},"version":"1.0.0"})");
  EXPECT_EQ(decode_lifecycle_execution(encode(failed), ""), failed);

  auto running = LifecycleExecution::in_progress("r3");
  EXPECT_EQ(bj::serialize(encode(running)),
            R"({"requestId":"r3","status":"IN_PROGRESS","outputs":{},"associatedTopology":{},)"
            R"("version":"1.0.0"})");
  EXPECT_EQ(decode_lifecycle_execution(encode(running), ""), running);
}

TEST(LifecycleExecutionCodec, DecodeToleratesExtraFieldsAndMissingOptionals) {
  auto execution =
      decode_lifecycle_execution(parse(R"({"requestId":"r","status":"COMPLETE","timestamp":"now",
                "failureDetails":{"failureCode":"INTERNAL_ERROR"}})"),
                                 "event");
  EXPECT_EQ(execution, LifecycleExecution::complete("r"));  // failure details ignored
  auto failed = decode_lifecycle_execution(
      parse(
          R"({"requestId":"r","status":"FAILED","failureDetails":{"failureCode":"INTERNAL_ERROR"}})"),
      "event");
  EXPECT_EQ(failed, LifecycleExecution::failed("r", FailureCode::internal_error, ""));
}

TEST(LifecycleExecutionCodec, InvalidShapes) {
  auto decode = [](std::string_view text) {
    return error_of([&] { (void)decode_lifecycle_execution(parse(text), "event"); });
  };
  EXPECT_EQ(decode("[]"), "event: expected an object");
  EXPECT_EQ(decode(R"({"status":"COMPLETE"})"), "event.requestId: required");
  EXPECT_EQ(decode(R"({"requestId":"r"})"), "event.status: required");
  EXPECT_EQ(decode(R"({"requestId":"r","status":"DONE"})"),
            R"(event.status: expected one of IN_PROGRESS, COMPLETE, FAILED, got "DONE")");
  EXPECT_EQ(decode(R"({"requestId":"r","status":"FAILED"})"), "event.failureDetails: required");
  EXPECT_EQ(decode(R"({"requestId":"r","status":"FAILED","failureDetails":1})"),
            "event.failureDetails: expected an object");
  EXPECT_EQ(decode(R"({"requestId":"r","status":"FAILED","failureDetails":{}})"),
            "event.failureDetails.failureCode: required");
  EXPECT_EQ(
      decode(R"({"requestId":"r","status":"FAILED","failureDetails":{"failureCode":"OOPS"}})"),
      R"(event.failureDetails.failureCode: unknown failure code "OOPS")");
  EXPECT_EQ(
      decode(
          R"({"requestId":"r","status":"FAILED","failureDetails":{"failureCode":"INTERNAL_ERROR","description":3}})"),
      "event.failureDetails.description: expected a string");
  EXPECT_EQ(decode(R"({"requestId":"r","status":"COMPLETE","outputs":[]})"),
            "event.outputs: expected an object");
  EXPECT_EQ(decode(R"({"requestId":"r","status":"COMPLETE","associatedTopology":{"a":{"id":1}}})"),
            "event.associatedTopology.a.id: expected a string");
}

TEST(ReplyCodec, ExecuteResponse) {
  LifecycleExecuteResponse response{"abc", {}};
  EXPECT_EQ(bj::serialize(encode(response)),
            R"({"requestId":"abc","associatedTopology":{},"version":"1.0.0"})");
  response.associated_topology.add("vm", {"1", "t"});
  EXPECT_EQ(bj::serialize(encode(response)),
            R"({"requestId":"abc","associatedTopology":{"vm":{"id":"1","type":"t"}},)"
            R"("version":"1.0.0"})");
}

TEST(ReplyCodec, FindResponse) {
  EXPECT_EQ(bj::serialize(encode(FindReferenceResponse{})), R"({"result":null})");
  FoundReference found{"res-1", {}, {{"ip", "1.2.3.4"}}};
  found.associated_topology.add("vm", {"1", "t"});
  EXPECT_EQ(bj::serialize(encode(FindReferenceResponse{found})),
            R"({"result":{"resourceId":"res-1","associatedTopology":{"vm":{"id":"1","type":"t"}},)"
            R"("outputs":{"ip":"1.2.3.4"}}})");
}

TEST(ReplyCodec, FailureDetails) {
  EXPECT_EQ(bj::serialize(encode(FailureDetails{FailureCode::resource_not_found, "gone"})),
            R"({"failureCode":"RESOURCE_NOT_FOUND","description":"gone"})");
}

TEST(Utf8, SequencesFollowRfc3629) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(is_valid_utf8("caf\xE9"));                                   // Latin-1 é
  EXPECT_FALSE(is_valid_utf8("\xC3"));                                      // cut short
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));                                  // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));                              // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));                          // past U+10FFFF
  EXPECT_EQ(utf8_sequence("\xE2\x82\xAC", 0), 3u);
  EXPECT_EQ(utf8_sequence("\xE2\x82", 0), 0u);
}

TEST(Utf8, RepairReplacesEachBadByteInStringsAndKeys) {
  bj::value value = {{"ok", "caf\xC3\xA9"},
                     {"bad", "caf\xE9 \xFF\xFE end"},
                     {"list", bj::array{"\xC3", 1, "fine"}},
                     {"k\xE9y", {{"nested", "\xC0\xAF"}}}};
  EXPECT_EQ(repair_utf8(value), 4u);
  const auto& object = value.as_object();
  EXPECT_EQ(object.at("ok"), "caf\xC3\xA9");
  EXPECT_EQ(object.at("bad"), "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(object.at("list").as_array().at(0), "\xEF\xBF\xBD");
  ASSERT_TRUE(object.contains("k\xEF\xBF\xBDy"));
  EXPECT_EQ(object.at("k\xEF\xBF\xBDy").at("nested"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  // The keys keep their order, and the text now parses back.
  EXPECT_EQ(std::next(object.begin(), 3)->key(), "k\xEF\xBF\xBDy");
  EXPECT_EQ(bj::parse(bj::serialize(value)), value);
  EXPECT_EQ(repair_utf8(value), 0u) << "nothing left to repair";
}

TEST(NonFinite, IsFoundByPathAndReplacedWithNull) {
  bj::value value = {{"ok", 1.5},
                     {"list", bj::array{1, -HUGE_VAL, "Infinity"}},
                     {"nested", {{"nan", std::nan("")}}}};
  EXPECT_EQ(find_non_finite(value, "outputs"), "outputs.list[1]");
  EXPECT_TRUE(may_hold_non_finite(bj::serialize(value)));
  EXPECT_EQ(null_non_finite(value), 2u);
  EXPECT_TRUE(value.at("list").at(1).is_null());
  EXPECT_TRUE(value.at("nested").at("nan").is_null());
  EXPECT_EQ(value.at("list").at(2), "Infinity") << "a string is no number";
  EXPECT_EQ(find_non_finite(value, "outputs"), std::nullopt);
  EXPECT_EQ(bj::parse(bj::serialize(value)), value);
  EXPECT_EQ(null_non_finite(value), 0u);

  bj::value alone = HUGE_VAL;
  EXPECT_EQ(find_non_finite(alone, ""), "");
  EXPECT_FALSE(may_hold_non_finite(R"({"a":1E0,"b":"text"})"));
}

// `levels` objects, each holding the next under "a", around `inner`.
std::string nested(std::size_t levels, std::string_view inner = "1") {
  std::string text;
  for (std::size_t i = 0; i < levels; ++i) text += R"({"a":)";
  text += inner;
  text.append(levels, '}');
  return text;
}

TEST(NestingDepth, CountsEachObjectAndArrayLevel) {
  EXPECT_FALSE(nests_deeper_than(bj::value(1), 0));
  EXPECT_TRUE(nests_deeper_than(bj::parse("{}"), 0));
  EXPECT_FALSE(nests_deeper_than(bj::parse("{}"), 1));
  EXPECT_TRUE(nests_deeper_than(bj::parse(R"({"a":[[]],"b":1})"), 2));
  EXPECT_FALSE(nests_deeper_than(bj::parse(R"({"a":[[]],"b":1})"), 3));
  EXPECT_FALSE(nests_deeper_than(bj::parse(nested(30)), 30));
  EXPECT_TRUE(nests_deeper_than(bj::parse(nested(30)).as_object(), 29));
}

TEST(ParseStored, ReadsBackWhatARequestMayCarryWrappedInARecord) {
  // Boost.JSON's default (32) refused an accepted request's properties once
  // a record wrapped them: the record could then never be read again.
  const std::string deepest_input = nested(kMaxDepth);
  const std::string record = nested(kMaxStoredDepth - kMaxDepth, deepest_input);
  EXPECT_TRUE(nests_deeper_than(parse_stored(record), kMaxStoredDepth - 1));
  boost::system::error_code ec;
  parse_stored(nested(kMaxStoredDepth + 1), ec);
  EXPECT_TRUE(ec);
  EXPECT_THROW(parse_stored("{"), boost::system::system_error);
  EXPECT_THROW(parse_stored(nested(kMaxStoredDepth + 1)), boost::system::system_error);
}

}  // namespace
}  // namespace flint::sdk::json

#include "http/request_context.hpp"

#include <boost/algorithm/string/case_conv.hpp>
#include <boost/algorithm/string/predicate.hpp>

namespace flint::http {

RequestContext RequestContext::from(const Request& request) {
  RequestContext context;
  static constexpr std::string_view kTracePrefix = "x-tracectx-";
  for (const auto& field : request) {
    const std::string_view name = field.name_string();
    if (name.size() > kTracePrefix.size() && boost::algorithm::istarts_with(name, kTracePrefix)) {
      std::string key = "tracectx.";
      key += boost::algorithm::to_lower_copy(std::string(name.substr(kTracePrefix.size())));
      context.log_fields.emplace_back(std::move(key), std::string(field.value()));
    } else if (boost::algorithm::iequals(name, "tenantId")) {
      context.tenant_id = std::string(field.value());
    }
  }
  if (!context.tenant_id.empty()) context.log_fields.emplace_back("tenantId", context.tenant_id);
  const std::string_view target = request.target();
  context.path = target.substr(0, target.find('?'));
  return context;
}

}  // namespace flint::http

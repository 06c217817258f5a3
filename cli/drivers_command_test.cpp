#include "drivers_command.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace flint::cli {
namespace {

TEST(DriversCommand, PrintsOneAlignedLinePerDriverAndTheSkippedLibraries) {
  const auto listing = boost::json::parse(R"({
    "drivers": [
      {"kind": "resource", "name": "noop", "vendor": "", "model": "", "version": "0.2.0",
       "origin": "built-in", "instanceScope": "shared", "instances": 1, "breakers": []},
      {"kind": "resource", "name": "acme", "vendor": "Acme", "model": "X1", "version": "1.2.3",
       "origin": "/opt/flint/drivers/acme.so", "instanceScope": "per_target", "instances": 12,
       "breakers": [{"location": "dc-1", "state": "open"}, {"location": "dc-2", "state": "open"},
                    {"location": "dc-3", "state": "half_open"},
                    {"location": "dc-4", "state": "closed"}]}],
    "loadErrors": [{"file": "/opt/flint/drivers/old.so", "error": "was built for driver ABI 1"}]
  })")
                           .as_object();
  EXPECT_EQ(format_drivers_table(listing),
            "KIND      NAME  VENDOR/MODEL  VERSION  SCOPE       INSTANCES  BREAKERS             "
            "ORIGIN\n"
            "resource  noop  -             0.2.0    shared      1          -                    "
            "built-in\n"
            "resource  acme  Acme/X1       1.2.3    per_target  12         1 half_open, 2 open  "
            "/opt/flint/drivers/acme.so\n"
            "\nSkipped libraries:\n"
            "  /opt/flint/drivers/old.so: was built for driver ABI 1\n");
}

}  // namespace
}  // namespace flint::cli

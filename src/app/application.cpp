#include "app/application.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <flint/sdk/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <thread>
#include <vector>

#include "api/management_api.hpp"
#include "api/openapi_api.hpp"
#include "api/resource_driver_api.hpp"
#include "app/builtin_drivers.hpp"
#include "drivers/driver_call_probe.hpp"
#include "drivers/driver_executor.hpp"
#include "files/package_cache.hpp"
#include "health/health_registry.hpp"
#include "http/http_server.hpp"
#include "logging/logging.hpp"
#include "logging/thread_name.hpp"
#include "metrics/metrics_registry.hpp"
#include "service/resource_driver_service.hpp"

namespace flint::app {

namespace asio = boost::asio;
using health::HealthStatus;
using health::Vital;
using std::chrono::steady_clock;

namespace {

// The part of the host that serves the Resource Driver API.
struct ResourceDriverStack {
  std::unique_ptr<files::PackageCache> packages;
  std::unique_ptr<drivers::DriverCallProbe> probe;
  std::unique_ptr<drivers::DriverExecutor> executor;
  std::unique_ptr<sdk::ResourceDriver> driver;
  std::unique_ptr<service::ResourceDriverService> service;
};

ResourceDriverStack start_resource_driver(const config::HostConfig& config,
                                          metrics::MetricsRegistry& metrics,
                                          health::HealthRegistry& health) {
  ResourceDriverStack stack;
  const auto& files = config.driver_files;
  stack.packages = std::make_unique<files::PackageCache>(files::PackageCacheOptions{
      .root = config.resource_driver.scripts_workspace,
      .limits = {.max_entries = files.max_entries,
                 .max_total_bytes = files.max_total_size,
                 .max_entry_bytes = files.max_entry_size,
                 .max_compression_ratio = static_cast<double>(files.max_compression_ratio),
                 .max_path_length = files.max_path_length},
      .max_cache_bytes = files.cache_size,
  });
  stack.probe = std::make_unique<drivers::DriverCallProbe>(metrics.registry());
  stack.executor = std::make_unique<drivers::DriverExecutor>(
      drivers::DriverExecutor::Options{.threads = config.driver_calls.threads,
                                       .queue_size = config.driver_calls.queue_size},
      *stack.probe);
  stack.driver = make_builtin_resource_driver(config.resource_driver.driver, config);
  stack.service = std::make_unique<service::ResourceDriverService>(
      config.resource_driver.driver, *stack.driver, *stack.packages, *stack.executor,
      config.driver_calls.timeout);

  health.add("driver_calls", [executor = stack.executor.get()] {
    const auto& options = executor->options();
    const std::size_t queued = executor->queued();
    const std::size_t running = executor->running();
    // A queue filling up means driver calls are slower than requests arrive.
    const bool pressed = queued * 5 >= options.queue_size * 4;
    return Vital{pressed ? HealthStatus::degraded : HealthStatus::ok,
                 {{"threads", options.threads},
                  {"running", running},
                  {"queued", queued},
                  {"queue_size", options.queue_size}}};
  });
  health.add("driver_files", [packages = stack.packages.get(), cap = files.cache_size] {
    const auto stats = packages->stats();
    const std::string root = packages->root().string();
    Vital vital{HealthStatus::ok,
                {{"workspace", root},
                 {"packages", stats.entries},
                 {"bytes", stats.bytes_in_use},
                 {"cache_size", cap},
                 {"hits", stats.hits},
                 {"misses", stats.misses},
                 {"rejected", stats.extraction_failures}}};
    struct statvfs disk {};
    if (::access(root.c_str(), W_OK) != 0 || ::statvfs(root.c_str(), &disk) != 0) {
      vital.status = HealthStatus::unhealthy;
      vital.details["error"] = "workspace is not writable";
    } else {
      const std::uint64_t free_bytes = std::uint64_t{disk.f_bavail} * disk.f_frsize;
      vital.details["disk_free_bytes"] = free_bytes;
      // Extraction needs room; below 100 MiB new packages will soon fail.
      if (free_bytes < 100 * 1024 * 1024) vital.status = HealthStatus::degraded;
    }
    return vital;
  });
  return stack;
}

// Waits for connections to finish their requests, up to the grace period,
// then closes what is left and stops the loop.
asio::awaitable<void> drain(http::HttpServer& server, asio::io_context& io,
                            std::chrono::milliseconds grace) {
  asio::steady_timer timer(io);
  const auto deadline = steady_clock::now() + grace;
  while (server.open_connections() > 0 && steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (server.open_connections() > 0) {
    logging::logger("app")->warn("{} connections still open after http.shutdown_timeout; closing",
                                 server.open_connections());
    server.close_all();
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(asio::use_awaitable);
  }
  io.stop();
}

}  // namespace

Application::Application(config::HostConfig config) : config_(std::move(config)) {}

Application::~Application() = default;

int Application::run() {
  logging::configure({.level = config_.logging.level,
                      .format = config_.logging.type == "logstash" ? logging::LogFormat::logstash
                                                                   : logging::LogFormat::flat});
  logging::set_thread_name("main");
  const auto log = logging::logger("app");
  const auto started = steady_clock::now();

  metrics::MetricsRegistry metrics;
  health::HealthRegistry health;
  http::HttpProbe http_probe(metrics.registry());
  http::Router router;
  asio::io_context io(static_cast<int>(config_.application.io_threads));

  const bool driver_api = config_.bootstrap.resource_driver.api_enabled;
  health.add("app", [started, driver_api, driver = config_.resource_driver.driver] {
    boost::json::object details{
        {"version", FLINT_SDK_VERSION_STRING},
        {"uptime_seconds",
         std::chrono::duration_cast<std::chrono::seconds>(steady_clock::now() - started).count()}};
    if (driver_api) details["resource_driver"] = driver;
    return Vital{HealthStatus::ok, std::move(details)};
  });

  ResourceDriverStack stack;
  if (driver_api) {
    stack = start_resource_driver(config_, metrics, health);
    api::add_resource_driver_routes(router, *stack.service);
  }

  const auto& http_config = config_.http;
  http::HttpServer server(io,
                          {.host = config_.application.host,
                           .port = config_.application.port,
                           .max_header_bytes = http_config.max_header_size,
                           .max_body_bytes = http_config.max_body_size,
                           .read_timeout = http_config.read_timeout,
                           .idle_timeout = http_config.idle_timeout,
                           .max_connections = http_config.max_connections},
                          router, http_probe);
  health.add("http", [&server, max = http_config.max_connections] {
    const std::size_t open = server.open_connections();
    return Vital{open * 10 >= max * 9 ? HealthStatus::degraded : HealthStatus::ok,
                 {{"connections", open}, {"max_connections", max}}};
  });
  if (config_.bootstrap.management.api_enabled) api::add_health_route(router, health);
  if (config_.bootstrap.metrics.enabled) api::add_metrics_route(router, metrics);
  if (config_.bootstrap.openapi.enabled) {
    api::add_openapi_routes(router, config_.api.swagger_ui_dir);
  }

  server.start();
  log->info("Flint {} listening on http://{}:{} ({} I/O threads{})", FLINT_SDK_VERSION_STRING,
            config_.application.host, server.port(), config_.application.io_threads,
            driver_api ? ", resource driver '" + config_.resource_driver.driver + "'" : "");

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log->info("received {}; stopping: no new connections, finishing requests in flight",
              signal == SIGINT ? "SIGINT" : "SIGTERM");
    server.begin_shutdown();
    asio::co_spawn(io, drain(server, io, http_config.shutdown_timeout), asio::detached);
  });

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < config_.application.io_threads; ++i) {
    threads.emplace_back([&io, i] {
      logging::set_thread_name("io-" + std::to_string(i));
      io.run();
    });
  }
  logging::set_thread_name("io-0");
  io.run();
  for (auto& thread : threads) thread.join();

  if (stack.executor && !stack.executor->shutdown(http_config.shutdown_timeout)) {
    left_running_ = true;
    log->error("driver calls still running after http.shutdown_timeout; exiting without them");
  }
  log->info("stopped");
  return 0;
}

}  // namespace flint::app

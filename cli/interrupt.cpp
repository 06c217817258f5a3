#include "interrupt.hpp"

#include <cstring>

#include <signal.h>
#include <unistd.h>

namespace flint::cli {
namespace {

volatile sig_atomic_t g_exit_code = 0;
const char* volatile g_message = nullptr;

void on_interrupt(int) {
  if (const char* message = g_message) {
    const ssize_t ignored = ::write(STDERR_FILENO, message, std::strlen(message));
    (void)ignored;
  }
  ::_exit(g_exit_code);
}

}  // namespace

void exit_on_interrupt(int exit_code, const char* message) {
  g_exit_code = exit_code;
  g_message = message;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
}

DeferInterrupt::DeferInterrupt() : saved_{} {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &block, &saved_);
}

DeferInterrupt::~DeferInterrupt() {
  ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

}  // namespace flint::cli

// A shared library without the driver entry point.
extern "C" __attribute__((visibility("default"))) int not_a_driver() {
  return 42;
}

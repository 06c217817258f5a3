// Linked into the flint binary only when it uses jemalloc (FLINT_ALLOCATOR).
//
// jemalloc reads `malloc_conf` before its first allocation. Without a
// background thread it hands freed memory back to the kernel only while the
// process keeps allocating, so after a burst an idle host kept its peak RSS
// (69 MiB after 1,000 connections of execute requests, against 20 MiB at
// start). The background thread purges on jemalloc's decay schedule (10 s)
// instead. Options named in MALLOC_CONF (the environment) override these.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's.
extern const char* malloc_conf;
const char* malloc_conf = "background_thread:true";
}

#pragma once

/// @file
/// A SQLite VFS that writes each commit's WAL frames with one system call.

namespace flint::store {

/// The name of the VFS, registered by `register_wal_coalescing_vfs`.
inline constexpr const char* kWalCoalescingVfs = "flint-wal-coalescing";

/// Registers (once; thread-safe) a VFS over SQLite's default one that
/// gathers the contiguous appends SQLite makes to a WAL file and writes them
/// with one `pwrite` per 64 KiB. SQLite writes every frame of a commit with
/// two calls (its 24-byte header, then the page); a group commit of a few
/// dozen pages made about fifty system calls where two do.
///
/// Nothing waits in the buffer past the point where SQLite relies on it:
/// the buffer is written when the commit's last frame is appended (so its
/// error is that write's error, as without the buffer), before any other
/// operation on the file (read, sync, truncate, size, close), before the
/// connection takes or releases a WAL lock, when an append does not follow
/// the previous one, and when it reaches 64 KiB. A commit is therefore in
/// the file, as before, when SQLite syncs it and when it publishes it to
/// readers through the WAL index; a crash in between loses nothing that was
/// committed. Frames of a transaction that rolled back are written (past
/// the WAL's end, where they mean nothing) before its write lock is
/// released, never later over another connection's. Other files pass
/// through.
/// @throws SqliteError when the default VFS is missing or registering fails.
void register_wal_coalescing_vfs();

}  // namespace flint::store

#include "files/test_zip.hpp"

#include <stdexcept>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

namespace flint::files::testing {
namespace {

void put16(std::string& out, std::uint32_t value) {
  out += static_cast<char>(value & 0xFF);
  out += static_cast<char>((value >> 8) & 0xFF);
}

void put32(std::string& out, std::uint32_t value) {
  put16(out, value & 0xFFFF);
  put16(out, value >> 16);
}

struct Payload {
  std::string bytes;  // as stored in the archive
  std::uint32_t crc = 0;
  std::uint32_t size = 0;
};

Payload encode(const ZipEntry& entry) {
  Payload payload;
  uLong crc = crc32(0, nullptr, 0);
  for (std::uint64_t i = 0; i < entry.repeat; ++i) {
    crc = crc32(crc, reinterpret_cast<const Bytef*>(entry.data.data()),
                static_cast<uInt>(entry.data.size()));
  }
  payload.crc = static_cast<std::uint32_t>(crc);
  payload.size = static_cast<std::uint32_t>(entry.data.size() * entry.repeat);
  if (!entry.deflate) {
    payload.bytes.reserve(payload.size);
    for (std::uint64_t i = 0; i < entry.repeat; ++i) payload.bytes += entry.data;
    return payload;
  }
  z_stream stream{};
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  char out[64 * 1024];
  auto pump = [&](int flush) {
    do {
      stream.next_out = reinterpret_cast<Bytef*>(out);
      stream.avail_out = sizeof out;
      deflate(&stream, flush);
      payload.bytes.append(out, sizeof out - stream.avail_out);
    } while (stream.avail_out == 0);
  };
  for (std::uint64_t i = 0; i < entry.repeat; ++i) {
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(entry.data.data()));
    stream.avail_in = static_cast<uInt>(entry.data.size());
    pump(Z_NO_FLUSH);
  }
  pump(Z_FINISH);
  deflateEnd(&stream);
  return payload;
}

}  // namespace

ZipEntry file(std::string name, std::string data) {
  ZipEntry entry;
  entry.name = std::move(name);
  entry.data = std::move(data);
  return entry;
}

ZipEntry directory(std::string name) {
  ZipEntry entry;
  entry.name = std::move(name);
  entry.mode = S_IFDIR | 0755;
  return entry;
}

std::string make_zip(const std::vector<ZipEntry>& entries) {
  std::string out;
  std::string central;
  for (const auto& entry : entries) {
    const Payload payload = encode(entry);
    const auto method = entry.deflate ? 8U : 0U;
    const auto declared = entry.declared_size.value_or(payload.size);
    const auto offset = static_cast<std::uint32_t>(out.size());
    const auto compressed = static_cast<std::uint32_t>(payload.bytes.size());

    put32(out, 0x04034b50);
    put16(out, 20);      // version needed
    put16(out, 0x0800);  // UTF-8 names
    put16(out, method);
    put16(out, 0);       // time
    put16(out, 0x0021);  // date: 1980-01-01
    put32(out, payload.crc);
    put32(out, compressed);
    put32(out, declared);
    put16(out, static_cast<std::uint32_t>(entry.name.size()));
    put16(out, 0);  // extra length
    out += entry.name;
    out += payload.bytes;

    put32(central, 0x02014b50);
    put16(central, (3U << 8) | 20U);  // made by Unix, so the mode is honoured
    put16(central, 20);
    put16(central, 0x0800);
    put16(central, method);
    put16(central, 0);
    put16(central, 0x0021);
    put32(central, payload.crc);
    put32(central, compressed);
    put32(central, declared);
    put16(central, static_cast<std::uint32_t>(entry.name.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, (entry.mode << 16) | (S_ISDIR(entry.mode) ? 0x10U : 0U));
    put32(central, offset);
    central += entry.name;
  }
  const auto central_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint32_t>(entries.size()));
  put16(out, static_cast<std::uint32_t>(entries.size()));
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, central_offset);
  put16(out, 0);
  return out;
}

std::string make_zip_with_libarchive(const std::vector<ZipEntry>& entries) {
  std::string out;
  archive* writer = archive_write_new();
  archive_write_set_format_zip(writer);
  archive_write_set_bytes_in_last_block(writer, 1);
  auto write_cb = [](archive*, void* user, const void* buffer, size_t length) -> la_ssize_t {
    static_cast<std::string*>(user)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
  };
  if (archive_write_open(writer, &out, nullptr, write_cb, nullptr) != ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(writer));
  }
  for (const auto& spec : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, spec.name.c_str());
    archive_entry_set_mode(entry, spec.mode);
    const bool is_file = S_ISREG(spec.mode);
    archive_entry_set_size(entry, is_file ? static_cast<la_int64_t>(spec.data.size()) : 0);
    if (archive_write_header(writer, entry) != ARCHIVE_OK) {
      throw std::runtime_error(archive_error_string(writer));
    }
    if (is_file && !spec.data.empty()) {
      archive_write_data(writer, spec.data.data(), spec.data.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(writer);
  archive_write_free(writer);
  return out;
}

}  // namespace flint::files::testing

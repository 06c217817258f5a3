#include "files/zip_extractor.hpp"

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <flint/sdk/errors.hpp>

#include "files/read_only_tree.hpp"
#include "files/test_zip.hpp"

namespace flint::files {
namespace {

namespace fs = std::filesystem;
using testing::directory;
using testing::file;
using testing::make_zip;
using testing::make_zip_with_libarchive;
using testing::ZipEntry;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

class ZipExtractorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("flint_zip_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    remove_read_only_tree(base_);
    fs::create_directories(base_);
    destination_ = base_ / "out";
  }
  void TearDown() override { remove_read_only_tree(base_); }

  /// Extraction must fail with exactly `message` and leave nothing behind.
  void expect_refused(const std::string& archive, const std::string& message,
                      const ExtractionLimits& limits = {}) {
    try {
      extract_zip(archive, destination_, limits);
      ADD_FAILURE() << "extraction succeeded, expected: " << message;
    } catch (const flint::sdk::InvalidDriverFilesError& error) {
      EXPECT_EQ(error.what(), message);
      EXPECT_EQ(error.kind(), flint::sdk::ErrorKind::invalid_driver_files);
    }
    EXPECT_FALSE(fs::exists(destination_)) << "partial extraction left behind";
    EXPECT_TRUE(fs::is_empty(base_));
  }

  fs::path base_;
  fs::path destination_;
};

TEST_F(ZipExtractorTest, ExtractsAGoodPackageReadOnly) {
  const auto archive = make_zip_with_libarchive({
      directory("Lifecycle/"),
      directory("Lifecycle/ansible/"),
      file("Lifecycle/ansible/Install.yaml", "- hosts: all\n"),
      file("Lifecycle/ansible/config/inventory", "[all]\nlocalhost\n"),  // implied dir
      file("Lifecycle/empty.txt", ""),
      file("README", std::string(100000, 'r')),
  });
  const ExtractionResult result = extract_zip(archive, destination_, {});

  EXPECT_EQ(result.files, 4U);
  EXPECT_EQ(result.directories, 3U);
  EXPECT_EQ(result.bytes, 13U + 16U + 0U + 100000U);
  EXPECT_EQ(read_file(destination_ / "Lifecycle/ansible/Install.yaml"), "- hosts: all\n");
  EXPECT_EQ(read_file(destination_ / "Lifecycle/ansible/config/inventory"), "[all]\nlocalhost\n");
  EXPECT_EQ(read_file(destination_ / "Lifecycle/empty.txt"), "");
  EXPECT_EQ(read_file(destination_ / "README"), std::string(100000, 'r'));

  EXPECT_EQ(mode_of(destination_), 0555U);
  EXPECT_EQ(mode_of(destination_ / "Lifecycle"), 0555U);
  EXPECT_EQ(mode_of(destination_ / "Lifecycle/ansible/config"), 0555U);
  EXPECT_EQ(mode_of(destination_ / "Lifecycle/ansible/Install.yaml"), 0444U);
  EXPECT_EQ(mode_of(destination_ / "README"), 0444U);
}

TEST_F(ZipExtractorTest, ExtractsStoredAndDeflatedEntriesAndNormalisesNames) {
  ZipEntry deflated = file("a/b/deflated.txt", "hello ");
  deflated.repeat = 1000;
  deflated.deflate = true;
  const auto archive =
      make_zip({directory("./"), file("./a//stored.txt", "stored"), deflated, file("x", "1")});
  const auto result = extract_zip(archive, destination_, {});
  EXPECT_EQ(result.files, 3U);
  EXPECT_EQ(read_file(destination_ / "a/stored.txt"), "stored");
  std::string expected;
  for (int i = 0; i < 1000; ++i) expected += "hello ";
  EXPECT_EQ(read_file(destination_ / "a/b/deflated.txt"), expected);
}

TEST_F(ZipExtractorTest, ReadsUtf8NamesWhateverTheLocale) {
  // Python, Java, 7-Zip and Windows flag such names as UTF-8; in the C
  // locale libarchive's plain pathname is null for them.
  const auto result = extract_zip(make_zip({file("scripts/caf\xC3\xA9.sh", "echo caf\xC3\xA9"),
                                            file("h\xC3\xA9llo/\xE2\x9C\x93.txt", "ok")}),
                                  destination_, {});
  EXPECT_EQ(result.files, 2U);
  EXPECT_EQ(read_file(destination_ / "scripts" / "caf\xC3\xA9.sh"), "echo caf\xC3\xA9");
  EXPECT_EQ(read_file(destination_ / "h\xC3\xA9llo" / "\xE2\x9C\x93.txt"), "ok");
}

TEST_F(ZipExtractorTest, AcceptsAnEmptyArchive) {
  const auto result = extract_zip(make_zip({}), destination_, {});
  EXPECT_EQ(result.files, 0U);
  EXPECT_TRUE(fs::is_directory(destination_));
  EXPECT_TRUE(fs::is_empty(destination_));
}

TEST_F(ZipExtractorTest, RefusesSomethingThatIsNotAZip) {
  expect_refused("", "driverFiles is not a ZIP archive: it is empty");
  try {
    extract_zip("just some text, not an archive", destination_, {});
    FAIL();
  } catch (const flint::sdk::InvalidDriverFilesError& error) {
    EXPECT_THAT(error.what(), ::testing::StartsWith("driverFiles is not a ZIP archive: "));
  }
  EXPECT_FALSE(fs::exists(destination_));
  // A tar archive is not accepted either: only the ZIP reader is enabled.
  std::string tar(1024, '\0');
  tar.replace(0, 5, "a.txt");
  tar.replace(257, 5, "ustar");
  EXPECT_THROW(extract_zip(tar, destination_, {}), flint::sdk::InvalidDriverFilesError);
  EXPECT_FALSE(fs::exists(destination_));
}

TEST_F(ZipExtractorTest, RefusesACorruptArchiveAndCleansUp) {
  ZipEntry big = file("big.bin", "0123456789abcdef");
  big.repeat = 4096;
  big.deflate = true;
  auto archive = make_zip({file("first.txt", "ok"), big});
  // Damage the deflate stream of the second entry.
  const auto at = archive.find("big.bin") + 7 + 10;
  for (std::size_t i = 0; i < 16; ++i) archive[at + i] = static_cast<char>(0xFF);
  try {
    extract_zip(archive, destination_, {});
    FAIL();
  } catch (const flint::sdk::InvalidDriverFilesError& error) {
    EXPECT_THAT(error.what(),
                ::testing::StartsWith("driverFiles entry 'big.bin' cannot be read: "));
  }
  EXPECT_FALSE(fs::exists(destination_));
}

TEST_F(ZipExtractorTest, RefusesPathTraversal) {
  expect_refused(make_zip({file("ok.txt", "x"), file("../evil", "x")}),
                 "driverFiles entry '../evil' escapes the package root ('..')");
  expect_refused(make_zip({file("a/../../evil", "x")}),
                 "driverFiles entry 'a/../../evil' escapes the package root ('..')");
  expect_refused(make_zip({file("a/..", "x")}),
                 "driverFiles entry 'a/..' escapes the package root ('..')");
}

TEST_F(ZipExtractorTest, RefusesAbsolutePathsAndDriveLetters) {
  expect_refused(make_zip({file("/abs", "x")}), "driverFiles entry '/abs' has an absolute path");
  expect_refused(make_zip({file("C:/Windows/evil", "x")}),
                 "driverFiles entry 'C:/Windows/evil' starts with a drive letter");
  expect_refused(make_zip({file("c:evil", "x")}),
                 "driverFiles entry 'c:evil' starts with a drive letter");
}

TEST_F(ZipExtractorTest, TreatsBackslashesAsSeparatorsAndStillRefusesEscapes) {
  // The name in the message is the one libarchive reports (it may already
  // have turned the backslashes into slashes).
  for (const std::string name : {"..\\..\\evil", "a\\..\\..\\evil"}) {
    try {
      extract_zip(make_zip({file(name, "x")}), destination_, {});
      ADD_FAILURE() << name;
    } catch (const flint::sdk::InvalidDriverFilesError& error) {
      EXPECT_THAT(error.what(), ::testing::EndsWith("escapes the package root ('..')"));
    }
    EXPECT_FALSE(fs::exists(destination_));
  }
  for (const std::string name : {"\\abs", "C:\\Windows\\evil"}) {
    EXPECT_THROW(extract_zip(make_zip({file(name, "x")}), destination_, {}),
                 flint::sdk::InvalidDriverFilesError)
        << name;
    EXPECT_FALSE(fs::exists(destination_));
  }
  // A Windows-style name is extracted with its hierarchy.
  extract_zip(make_zip({file("dir\\sub\\file.txt", "win")}), destination_, {});
  EXPECT_EQ(read_file(destination_ / "dir/sub/file.txt"), "win");
}

TEST_F(ZipExtractorTest, RefusesControlCharactersInNames) {
  expect_refused(make_zip({file("bad\nname", "x")}),
                 "driverFiles entry 'bad?name' has a control character in its name");
  // libarchive would cut this one at the NUL and extract scripts/Create.sh.
  expect_refused(make_zip({file("ok", "x"), file(std::string("scripts/Create.sh\0.txt", 22), "x")}),
                 "driverFiles entry 'scripts/Create.sh?.txt' has a control character in its name");
}

TEST_F(ZipExtractorTest, RefusesLinksDevicesAndFifos) {
  ZipEntry symlink = file("link", "/etc/passwd");
  symlink.mode = S_IFLNK | 0777;
  expect_refused(make_zip({file("ok", "x"), symlink}),
                 "driverFiles entry 'link' is a symbolic link (only files and directories are "
                 "allowed)");
  ZipEntry socket = file("sock", "");
  socket.mode = S_IFSOCK | 0644;
  expect_refused(make_zip({socket}),
                 "driverFiles entry 'sock' is a socket (only files and directories are allowed)");
  ZipEntry device = file("dev", "");
  device.mode = S_IFCHR | 0644;
  expect_refused(make_zip({device}),
                 "driverFiles entry 'dev' is a device (only files and directories are allowed)");
  ZipEntry block = file("blk", "");
  block.mode = S_IFBLK | 0644;
  expect_refused(make_zip({block}),
                 "driverFiles entry 'blk' is a device (only files and directories are allowed)");
}

TEST_F(ZipExtractorTest, NeverCreatesAFifo) {
  // libarchive 3.6 reads a FIFO-typed ZIP entry as a regular file; either way
  // (refused, or extracted as a plain read-only file) no FIFO may appear.
  ZipEntry fifo = file("fifo", "data");
  fifo.mode = S_IFIFO | 0644;
  try {
    extract_zip(make_zip({fifo}), destination_, {});
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(destination_ / "fifo")));
    EXPECT_EQ(mode_of(destination_ / "fifo"), 0444U);
  } catch (const flint::sdk::InvalidDriverFilesError& error) {
    EXPECT_STREQ(error.what(),
                 "driverFiles entry 'fifo' is a FIFO (only files and directories are allowed)");
    EXPECT_FALSE(fs::exists(destination_));
  }
}

TEST_F(ZipExtractorTest, RefusesDuplicateEntriesAfterNormalisation) {
  expect_refused(make_zip({file("a.txt", "1"), file("a.txt", "2")}),
                 "driverFiles entry 'a.txt' appears more than once");
  expect_refused(make_zip({file("dir/a.txt", "1"), file("./dir//a.txt", "2")}),
                 "driverFiles entry './dir//a.txt' appears more than once");
  expect_refused(make_zip({directory("d/"), file("d", "2")}),
                 "driverFiles entry 'd' appears more than once");
}

TEST_F(ZipExtractorTest, RefusesEntriesThatConflict) {
  expect_refused(make_zip({file("a", "file"), file("a/b", "x")}),
                 "driverFiles entry 'a/b' conflicts with the file 'a'");
  expect_refused(make_zip({file("a/b", "x"), file("a", "file")}),
                 "driverFiles entry 'a' conflicts with a directory of the same name");
}

TEST_F(ZipExtractorTest, RefusesTooManyEntries) {
  ExtractionLimits limits;
  limits.max_entries = 5;
  std::vector<ZipEntry> entries;
  for (int i = 0; i < 5; ++i) entries.push_back(file("f" + std::to_string(i), "x"));
  EXPECT_EQ(extract_zip(make_zip(entries), destination_, limits).files, 5U);
  remove_read_only_tree(destination_);
  entries.push_back(directory("d/"));
  expect_refused(make_zip(entries),
                 "driverFiles has more than 5 entries (files and directories, those its paths "
                 "imply included)",
                 limits);
}

TEST_F(ZipExtractorTest, CountsTheDirectoriesPathsImplyAsEntries) {
  // Two entries, six things on disk: a path's parents are made without
  // entries of their own, and count all the same.
  ExtractionLimits limits;
  limits.max_entries = 5;
  expect_refused(make_zip({file("a/b/c/d/e", "x"), file("a/f", "y")}),
                 "driverFiles has more than 5 entries (files and directories, those its paths "
                 "imply included)",
                 limits);
  const auto result =
      extract_zip(make_zip({file("a/b/c/d", "x"), file("a/f", "y")}), destination_, limits);
  EXPECT_EQ(result.files, 2U);
  EXPECT_EQ(result.directories, 3U);
}

TEST_F(ZipExtractorTest, RefusesNamesLongerThanTheLimit) {
  ExtractionLimits limits;
  limits.max_path_length = 10;
  expect_refused(make_zip({file("abcdefghijk", "x")}),
                 "driverFiles entry 'abcdefghijk' has a name longer than 10 bytes", limits);
  expect_refused(make_zip({file(std::string(256, 'n'), "x")}),
                 "driverFiles entry '" + std::string(120, 'n') +
                     "...' has a path component longer than 255 bytes");
}

TEST_F(ZipExtractorTest, RefusesAnEntryLargerThanTheLimit) {
  ExtractionLimits limits;
  limits.max_entry_bytes = 1000;
  expect_refused(
      make_zip({file("small", std::string(1000, 's')), file("big", std::string(1001, 'b'))}),
      "driverFiles entry 'big' expands to more than 1000 bytes", limits);
}

TEST_F(ZipExtractorTest, RefusesATotalLargerThanTheLimit) {
  ExtractionLimits limits;
  limits.max_total_bytes = 2500;
  expect_refused(make_zip({file("a", std::string(1000, 'a')), file("b", std::string(1000, 'b')),
                           file("c", std::string(1000, 'c'))}),
                 "driverFiles expands to more than 2500 bytes", limits);
}

TEST_F(ZipExtractorTest, RefusesAHighlyCompressibleHugeEntryWhileStreaming) {
  ZipEntry bomb = file("bomb", std::string(1 << 20, '\0'));
  bomb.repeat = 200;  // 200 MiB of zeros, about 200 KiB deflated
  bomb.deflate = true;
  const auto archive = make_zip({file("readme", "hi"), bomb});
  ASSERT_LT(archive.size(), 1U << 20);
  const auto start = std::chrono::steady_clock::now();
  expect_refused(
      archive, "driverFiles entry 'bomb' exceeds the compression ratio limit of 100:1 (zip bomb?)");
  // Stopped early: nowhere near 200 MiB was inflated.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ZipExtractorTest, DoesNotTrustTheSizesDeclaredInHeaders) {
  ZipEntry liar = file("liar", std::string(1 << 20, 'z'));
  liar.repeat = 8;          // 8 MiB in truth
  liar.declared_size = 10;  // "10 bytes"
  liar.deflate = true;
  ExtractionLimits limits;
  limits.max_entry_bytes = 1 << 20;
  limits.max_compression_ratio = 1e9;
  expect_refused(make_zip({liar}), "driverFiles entry 'liar' expands to more than 1048576 bytes",
                 limits);
}

TEST_F(ZipExtractorTest, RefusesAnArchiveWhoseOverallRatioIsTooHigh) {
  // Each entry stays under the per-entry ratio threshold; together they do not.
  ExtractionLimits limits;
  limits.ratio_check_min_bytes = 1 << 20;
  std::vector<ZipEntry> entries;
  for (int i = 0; i < 20; ++i) {
    ZipEntry entry = file("part" + std::to_string(i), std::string(1024, 'p'));
    entry.repeat = 900;
    entry.deflate = true;
    entries.push_back(entry);
  }
  expect_refused(make_zip(entries),
                 "driverFiles exceeds the compression ratio limit of 100:1 for the whole archive "
                 "(zip bomb?)",
                 limits);
}

TEST_F(ZipExtractorTest, AcceptsSmallHighlyCompressibleFiles) {
  ZipEntry padded = file("padded.cfg", std::string(64 * 1024, ' '));
  padded.deflate = true;
  EXPECT_EQ(extract_zip(make_zip({padded}), destination_, {}).bytes, 64U * 1024U);
}

TEST_F(ZipExtractorTest, AcceptsLargeEntriesWithOrdinaryRatios) {
  // The ratio is measured on the compressed bytes actually consumed: large,
  // ordinary entries pass (a broken measurement would refuse them).
  std::mt19937 rng(7);
  std::string noise(3 << 20, '\0');
  for (auto& c : noise) c = static_cast<char>(rng() & 0xFF);
  std::string text;
  while (text.size() < (4U << 20)) text += "line " + std::to_string(rng() % 100000) + " of a log\n";
  ZipEntry random_entry = file("noise.bin", noise);
  random_entry.deflate = true;
  ZipEntry text_entry = file("log.txt", text);
  text_entry.deflate = true;
  const auto result = extract_zip(make_zip({random_entry, text_entry}), destination_, {});
  EXPECT_EQ(result.bytes, noise.size() + text.size());
  EXPECT_EQ(read_file(destination_ / "noise.bin"), noise);
}

TEST_F(ZipExtractorTest, AcceptsLargeStoredEntries) {
  // `zip -0`, or a package of files that are compressed already: a stored
  // entry is 1:1, however large (libarchive hands it over in one piece,
  // before it counts the input as consumed).
  std::mt19937 rng(11);
  std::string blob((1 << 20) + 100 * 1024, '\0');
  for (auto& c : blob) c = static_cast<char>(rng() & 0xFF);
  ZipEntry stored = file("blob.bin", blob);
  ZipEntry text = file("notes.txt", std::string(2 << 20, 'n'));  // compressible, stored anyway
  const auto result =
      extract_zip(make_zip({file("scripts/Create.sh", "echo hi"), stored, text}), destination_, {});
  EXPECT_EQ(result.bytes, 7 + blob.size() + (2U << 20));
  EXPECT_EQ(read_file(destination_ / "blob.bin"), blob);
}

TEST_F(ZipExtractorTest, RefusesAnExistingDestinationWithoutTouchingIt) {
  fs::create_directories(destination_);
  std::ofstream(destination_ / "keep") << "mine";
  EXPECT_THROW(extract_zip(make_zip({file("a", "x")}), destination_, {}), fs::filesystem_error);
  EXPECT_EQ(read_file(destination_ / "keep"), "mine");
}

TEST_F(ZipExtractorTest, RejectsUnusableLimits) {
  ExtractionLimits limits;
  limits.max_compression_ratio = 0;
  try {
    extract_zip(make_zip({}), destination_, limits);
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "ExtractionLimits.max_compression_ratio must be at least 1");
  }
}

}  // namespace
}  // namespace flint::files

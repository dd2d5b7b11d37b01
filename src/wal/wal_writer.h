#pragma once
// The Wal over segment files: open() (recovery, then the writer thread), group commit,
// consumers and segment deletion. Private to src/wal; others use Wal::open.

#include <memory>

#include "wal/file_system.h"
#include "wal/wal.h"

namespace basalt::wal {

// Wal::open with the file system injected (tests pass one that fails on purpose).
Result<std::unique_ptr<Wal>> open_wal(const WalOptions& options,
                                      std::shared_ptr<WalFileSystem> fs);

}  // namespace basalt::wal

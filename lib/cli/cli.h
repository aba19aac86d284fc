// ferryctl: the operator's command. Talks to ferryd over the control socket;
// `keygen` and `version` work without a daemon.
#pragma once

namespace ferry::cli {

/// Exit codes, as PRODUCT.md section 11 promises them to scripts.
enum class Exit : int { ok = 0, failed = 1, usage = 2, unreachable = 3, denied = 4 };

/// Runs one ferryctl command line and returns the process exit code.
int run(int argc, char** argv);

}  // namespace ferry::cli

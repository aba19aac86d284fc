// What keeps `package delete` and retention away from a package in use.
#include "server/exports.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace ferry::server {
namespace {

TEST(Exports, ARunningOrForwardedPackageIsNotRemoved) {
  boost::asio::io_context io;
  Exports exports;
  exports.add(io.get_executor(), "p1", "one", "alice", TimePoint{});
  EXPECT_EQ(exports.holder("p1"), "exporting");
  EXPECT_FALSE(exports.hold("p1", "pruned"));
  EXPECT_FALSE(exports.hold("p1", "forwarded"));

  // Forwards only read the file: several may run; removal waits for all of them.
  EXPECT_TRUE(exports.hold("p2", "forwarded"));
  EXPECT_TRUE(exports.hold("p2", "forwarded"));
  EXPECT_FALSE(exports.hold("p2", "deleted"));
  exports.release("p2");
  EXPECT_FALSE(exports.hold("p2", "pruned"));
  exports.release("p2");
  EXPECT_EQ(exports.holder("p2"), std::nullopt);
  EXPECT_TRUE(exports.hold("p2", "pruned"));
  EXPECT_FALSE(exports.hold("p2", "forwarded"));  // being removed: no forward starts
  EXPECT_EQ(exports.holder("p2"), "pruned");

  exports.remove("p1");
  EXPECT_TRUE(exports.hold("p1", "deleted"));
}

}  // namespace
}  // namespace ferry::server

// What command handlers may use. Owned by the Daemon; handlers run on the event loop.
#pragma once

#include "access/access.h"
#include "catalog/catalog.h"
#include "config/config.h"
#include "server/workers.h"
#include "types/types.h"
#include "util/clock.h"

namespace ferry::server {

struct Context {
  const config::Config& config;
  const types::TypeRegistry& types;
  catalog::Catalog& catalog;  ///< blocking: call only through workers.run()
  Workers& workers;
  const access::Access& access;
  Clock& clock;
  TimePoint started_at;
};

}  // namespace ferry::server

// liaison-reshard: moves a service's partitions from one shard map to the
// next (DESIGN.md §8, "Growing"), with that service's shards stopped. Shard
// i's store is the i-th --data-dir; a shard the new map adds gets a new
// store there. Prints what moved as one JSON line; exit 1 on any error
// (nothing is deleted from a shard before its copy is synced, so running it
// again finishes the job).
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/reshard.h"
#include "common/shard_map.h"
#include "common/store.h"
#include "services/credits/credit_store.h"
#include "services/identity/identity_store.h"
#include "services/messaging/messaging_store.h"
#include "services/messaging/reshard.h"
#include "services/privacy/privacy_store.h"

namespace {

struct Layout {
  std::vector<liaison::ColumnFamilySpec> families;
  std::vector<liaison::MovedFamily> moved;
};

// The families of each service that shards, and how their records move.
std::optional<Layout> LayoutOf(const std::string& service) {
  if (service == "privacy") {
    return Layout{liaison::privacy::PrivacyStore::Families(), {{"settings", 0}}};
  }
  if (service == "credits") {
    // The expiry index: 'X', the expiry time (8 bytes), then the member.
    return Layout{liaison::credits::CreditStore::Families(), {{"ledger", 0}, {"expiry", 9}}};
  }
  if (service == "messaging") {
    // Conversations sit in their home partition, mailboxes and events in
    // their member's; Rehome then places what follows a conversation's
    // home or its members (services/messaging/reshard.h). The outbox's
    // records must all be done first.
    return Layout{liaison::messaging::MessagingStore::Families(),
                  {{"conversations", 0}, {"members", 0}, {"events", 0}}};
  }
  if (service == "identity") {
    // Member-, page- and name-keyed records start with their partition; the
    // outbox's other records (the backfill cursor, set-aside peer writes)
    // and the change feed stay with their shard.
    return Layout{liaison::identity::IdentityStore::Families(),
                  {{"members", 0}, {"graph", 0}, {"social", 0}, {"outbox", 0}}};
  }
  return std::nullopt;
}

int Fail(const std::string& message) {
  std::cerr << "liaison-reshard: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Moves a stopped service's partitions to a new shard map", "liaison-reshard"};
  std::string service, from_file, to_file;
  std::vector<std::string> data_dirs;
  app.add_option("--service", service, "privacy, identity, credits or messaging")->required();
  app.add_option("--from-map", from_file, "The shard map the data is laid out by now")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--to-map", to_file, "The new shard map (a higher epoch)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--data-dir", data_dirs,
                 "Each shard's data directory, in shard order (as many as the larger map has "
                 "shards); give it once per shard")
      ->required();
  CLI11_PARSE(app, argc, argv);

  const auto layout = LayoutOf(service);
  if (!layout.has_value())
    return Fail("--service: " + service +
                " does not shard; give privacy, identity, credits or messaging");
  auto from = liaison::ShardMap::Load(from_file);
  if (!from.ok()) return Fail(std::string(from.status().message()));
  auto to = liaison::ShardMap::Load(to_file);
  if (!to.ok()) return Fail(std::string(to.status().message()));
  for (const auto* map : {&*from, &*to}) {
    if (auto status = map->CheckAddresses(service); !status.ok()) {
      return Fail(std::string(status.message()));
    }
  }
  const size_t shards = std::max(from->size(), to->size());
  if (data_dirs.size() != shards) {
    return Fail("--data-dir: give " + std::to_string(shards) + " (one per shard), not " +
                std::to_string(data_dirs.size()));
  }
  std::vector<std::unique_ptr<liaison::Store>> stores;
  std::vector<liaison::Store*> pointers;
  for (const std::string& dir : data_dirs) {
    auto store = liaison::Store::Open({dir, layout->families});
    if (!store.ok()) return Fail(std::string(store.status().message()));
    pointers.push_back(store->get());
    stores.push_back(*std::move(store));
  }
  // Identity's peer writes name members by the map they were written under:
  // every one must have reached its shard before partitions move.
  if (service == "identity") {
    for (size_t i = 0; i < pointers.size(); ++i) {
      auto undelivered = liaison::identity::IdentityStore::UndeliveredPeerWrites(pointers[i]);
      if (!undelivered.ok()) return Fail(std::string(undelivered.status().message()));
      if (*undelivered > 0) {
        return Fail("shard " + std::to_string(i) + " (" + data_dirs[i] + ") holds " +
                    std::to_string(*undelivered) +
                    " two-member changes not yet delivered to another shard; start the identity "
                    "shards with the old map until they are delivered, stop them, and run again "
                    "(nothing was moved)");
      }
    }
  }
  // Messaging's InMail saga steps and deliveries name shards by the old map,
  // and a conversation from before ids named their home cannot be split.
  if (service == "messaging") {
    for (size_t i = 0; i < pointers.size(); ++i) {
      auto work = liaison::messaging::Unfinished(pointers[i]);
      if (!work.ok()) return Fail(std::string(work.status().message()));
      if (work->inmail_steps + work->deliveries > 0) {
        return Fail("shard " + std::to_string(i) + " (" + data_dirs[i] + ") holds " +
                    std::to_string(work->deliveries) + " deliveries to other shards and " +
                    std::to_string(work->inmail_steps) +
                    " InMail steps for the credits service not yet done; start the messaging "
                    "shards with the old map until they are done, stop them, and run again "
                    "(nothing was moved)");
      }
      auto split = liaison::messaging::SplitLookups(*to, pointers[i]);
      if (!split.ok()) return Fail(std::string(split.status().message()));
      if (*split > 0) {
        return Fail("shard " + std::to_string(i) + " (" + data_dirs[i] + ") holds " +
                    std::to_string(*split) +
                    " one-to-one or page conversations started before conversation ids named "
                    "their home partition; the new map would put their lookup and their home on "
                    "different shards, which this version cannot serve (nothing was moved)");
      }
    }
  }
  auto report = liaison::MovePartitions(*from, *to, pointers, layout->moved);
  if (!report.ok()) return Fail(std::string(report.status().message()));
  liaison::messaging::RehomeReport rehomed;
  if (service == "messaging") {
    auto done = liaison::messaging::Rehome(*to, pointers);
    if (!done.ok()) return Fail(std::string(done.status().message()));
    rehomed = *done;
  }
  // Credits' shards follow identity's feed, each from its own cursor: a
  // member moved in may have been applied up to another cursor than the
  // shard's. Without a cursor a shard rebuilds every account from identity
  // at start, and follows on from there.
  size_t cursors_reset = 0;
  if (service == "credits" && report->records_moved > 0) {
    for (liaison::Store* store : pointers) {
      rocksdb::WriteBatch batch;
      batch.Delete(store->Family("ledger"), liaison::credits::keys::FeedCursor("identity"));
      if (auto status = store->Write(&batch, liaison::Durability::kSynced); !status.ok()) {
        return Fail(std::string(status.message()));
      }
      ++cursors_reset;
    }
  }
  for (auto& store : stores) {
    if (auto status = store->Close(); !status.ok()) return Fail(std::string(status.message()));
  }
  std::cout << nlohmann::json{{"service", service},
                              {"from_epoch", from->epoch()},
                              {"to_epoch", to->epoch()},
                              {"partitions_moved", report->partitions_moved},
                              {"records_moved", report->records_moved + rehomed.records_moved},
                              {"feed_cursors_reset", cursors_reset},
                              {"conversation_copies_made", rehomed.copies_made},
                              {"conversation_copies_dropped", rehomed.copies_dropped}}
                   .dump()
            << "\n";
  return 0;
}

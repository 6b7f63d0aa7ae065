// KeyBuilder / KeyReader (common/keys.h), the encoding under every store's
// keys. Three properties:
//  - round trip: a key read back field by field gives the values it was
//    built from, and nothing is left over;
//  - order: for two keys of the same shape, byte order (RocksDB's bytewise
//    comparator) is the order of their values, descending fields reversed;
//  - canonical: whatever bytes a reader accepts, rebuilding the values it
//    read gives back exactly those bytes (one key per value, no aliases);
//    a failed read leaves its output untouched.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/key_fields.h"

namespace liaison::fuzz {
namespace {

void CheckBuiltKeys(FuzzedDataProvider& in) {
  const char kind = in.ConsumeIntegral<char>();
  std::vector<Type> shape(in.ConsumeIntegralInRange<size_t>(0, 6));
  for (Type& t : shape) t = in.ConsumeEnum<Type>();
  std::vector<Field> a, b;
  for (Type t : shape) a.push_back(MakeField(t, in));
  // The second key shares a prefix of the first's values, then differs.
  const size_t shared = in.ConsumeIntegralInRange<size_t>(0, shape.size());
  for (size_t i = 0; i < shape.size(); ++i)
    b.push_back(i < shared ? a[i] : MakeField(shape[i], in));
  const std::string key_a = Build(kind, a), key_b = Build(kind, b);

  KeyReader reader(key_a);
  char read_kind;
  FUZZ_CHECK(reader.Kind(&read_kind) && read_kind == kind);
  for (const Field& f : a) {
    Field back;
    FUZZ_CHECK(Read(reader, f.type, &back) && SameValue(back, f));
  }
  FUZZ_CHECK(reader.AtEnd());

  int expected = 0;
  for (size_t i = 0; i < a.size() && expected == 0; ++i) expected = CompareValues(a[i], b[i]);
  FUZZ_CHECK(Sign(key_a.compare(key_b)) == expected);
}

void CheckReadBytes(FuzzedDataProvider& in) {
  std::vector<Type> shape(in.ConsumeIntegralInRange<size_t>(0, 8));
  for (Type& t : shape) t = in.ConsumeEnum<Type>();
  const std::string bytes = in.ConsumeRemainingBytesAsString();
  KeyReader reader(bytes);
  char kind;
  if (!reader.Kind(&kind)) {
    FUZZ_CHECK(bytes.empty());
    return;
  }
  std::vector<Field> read;
  for (Type t : shape) {
    Field f;
    f.text = "untouched";
    f.number = 0x5eed;
    if (!Read(reader, t, &f)) {
      FUZZ_CHECK(f.text == "untouched" && f.number == 0x5eed);
      break;
    }
    read.push_back(f);
  }
  const std::string rebuilt = Build(kind, read);
  FUZZ_CHECK(bytes.compare(0, rebuilt.size(), rebuilt) == 0);
  if (read.size() == shape.size() && reader.AtEnd()) FUZZ_CHECK(rebuilt == bytes);
}

}  // namespace
}  // namespace liaison::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    liaison::fuzz::CheckBuiltKeys(in);
  } else {
    liaison::fuzz::CheckReadBytes(in);
  }
  return 0;
}

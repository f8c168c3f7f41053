#include "orchestrator/config/yaml_to_proto.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "orchestrator/common/durations.h"
#include "yaml-cpp/yaml.h"

namespace foghorn::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The enum type's name in upper snake case plus "_": ApprovalMode -> "APPROVAL_MODE_".
std::string EnumPrefix(const EnumDescriptor& e) {
  std::string out;
  const std::string& name = e.name();
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (std::isupper(static_cast<unsigned char>(c)) && i > 0) out.push_back('_');
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  out.push_back('_');
  return out;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const char* KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

const char* ExpectedName(const FieldDescriptor& fd) {
  switch (fd.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "an integer";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "a number";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return "an enum value";
    case FieldDescriptor::CPPTYPE_STRING:
      return "a string";
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return "a mapping";
  }
  return "a value";
}

bool IsDuration(const FieldDescriptor& fd) {
  return fd.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         fd.message_type()->full_name() == "google.protobuf.Duration";
}

// Limits on what one document may expand to. yaml-cpp shares an anchored node between its
// aliases, but the walk materialises a copy for every use: 5 KB of nested aliases ("billion
// laughs") would otherwise become gigabytes of protobuf. Real runbooks and configs stay far below.
constexpr int kMaxNodes = 100000;
constexpr size_t kMaxScalarBytes = 8 << 20;
constexpr size_t kMaxDiagnostics = 100;

class Walker {
 public:
  Walker(absl::string_view file, SourceMap* map, std::vector<Diagnostic>* diags)
      : file_(file), map_(map), diags_(diags) {}

  Location At(const YAML::Node& node, Location fallback = {}) const {
    const YAML::Mark m = node.Mark();
    if (m.is_null() || m.line < 0) return fallback;
    return {m.line + 1, m.column + 1};
  }

  void Error(Location loc, const std::string& path, std::string message) {
    if (errors_ == kMaxDiagnostics) {
      diags_->push_back({file_, loc.line, loc.column, path,
                         absl::StrCat("more than ", kMaxDiagnostics, " errors; stopped")});
    }
    if (errors_++ >= kMaxDiagnostics) return;
    diags_->push_back({file_, loc.line, loc.column, path, std::move(message)});
  }

  // Counts one more materialised value; false (with one diagnostic) once the document expands
  // past the limits, after which the walk stops.
  bool Budget(const YAML::Node& node, const std::string& path, size_t bytes = 0) {
    if (exhausted_) return false;
    scalar_bytes_ += bytes;
    if (++nodes_ <= kMaxNodes && scalar_bytes_ <= kMaxScalarBytes) return true;
    exhausted_ = true;
    const Location loc = At(node);
    diags_->push_back({file_, loc.line, loc.column, path,
                       absl::StrCat("the document expands to more than ", kMaxNodes, " values or ",
                                    kMaxScalarBytes >> 20,
                                    " MiB of text (YAML aliases are expanded once per use); "
                                    "refusing it")});
    return false;
  }
  bool exhausted() const { return exhausted_; }

  void WalkMessage(const YAML::Node& node, const std::string& path, Message* msg) {
    if (!Budget(node, path)) return;
    if (!node.IsMap()) {
      Error(At(node), path, absl::StrCat("expected a mapping, got ", KindName(node)));
      return;
    }
    const Descriptor* desc = msg->GetDescriptor();
    const Reflection* refl = msg->GetReflection();
    absl::flat_hash_set<std::string> seen;
    // Range-for binds each yaml-cpp iterator value to a named object (it-> would dangle).
    for (const auto& kv : node) {
      if (exhausted_) return;
      const YAML::Node key = kv.first;
      const YAML::Node value = kv.second;
      const Location key_loc = At(key);
      if (!key.IsScalar()) {
        Error(key_loc, path, "keys must be plain names");
        continue;
      }
      const std::string name = key.Scalar();
      const std::string field_path = path.empty() ? name : absl::StrCat(path, ".", name);
      if (!seen.insert(name).second) {
        Error(key_loc, field_path, "duplicate key");
        continue;
      }
      const FieldDescriptor* fd = desc->FindFieldByName(name);
      if (fd == nullptr) {
        std::string message = absl::StrCat("unknown field \"", name, "\"");
        std::string best;
        size_t best_distance = 3;
        for (int i = 0; i < desc->field_count(); ++i) {
          const size_t d = EditDistance(name, desc->field(i)->name());
          if (d < best_distance) {
            best_distance = d;
            best = desc->field(i)->name();
          }
        }
        if (!best.empty()) absl::StrAppend(&message, " (did you mean \"", best, "\"?)");
        Error(key_loc, field_path, message);
        continue;
      }
      if (const auto* oneof = fd->real_containing_oneof();
          oneof != nullptr && refl->HasOneof(*msg, oneof)) {
        Error(
            key_loc, field_path,
            absl::StrCat("only one of ", OneofNames(*oneof), " may be set; \"",
                         refl->GetOneofFieldDescriptor(*msg, oneof)->name(), "\" is already set"));
        continue;
      }
      const Location value_loc = At(value, key_loc);
      (*map_)[field_path] = value_loc;
      WalkField(value, value_loc, field_path, msg, fd);
    }
  }

 private:
  static std::string OneofNames(const google::protobuf::OneofDescriptor& oneof) {
    std::vector<std::string> names;
    for (int i = 0; i < oneof.field_count(); ++i) names.push_back(oneof.field(i)->name());
    return absl::StrJoin(names, ", ");
  }

  void WalkField(const YAML::Node& value, Location loc, const std::string& path, Message* msg,
                 const FieldDescriptor* fd) {
    const Reflection* refl = msg->GetReflection();
    if (value.IsNull()) {
      // "key:" with nothing after it: an empty message is still "set" (e.g. a oneof member
      // without options); other fields stay unset.
      if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !fd->is_repeated()) {
        refl->MutableMessage(msg, fd);
      }
      return;
    }
    if (fd->is_map()) {
      if (!value.IsMap()) {
        Error(loc, path, absl::StrCat("expected a mapping, got ", KindName(value)));
        return;
      }
      const FieldDescriptor* key_fd = fd->message_type()->map_key();
      const FieldDescriptor* value_fd = fd->message_type()->map_value();
      absl::flat_hash_set<std::string> seen;
      for (const auto& kv : value) {
        if (exhausted_) return;
        const YAML::Node entry_key = kv.first;
        const YAML::Node entry_value = kv.second;
        const Location key_loc = At(entry_key, loc);
        if (!entry_key.IsScalar()) {
          Error(key_loc, path, "map keys must be scalars");
          continue;
        }
        const std::string key = entry_key.Scalar();
        const std::string entry_path = absl::StrCat(path, ".", key);
        if (!seen.insert(key).second) {
          Error(key_loc, entry_path, "duplicate key");
          continue;
        }
        Message* entry = refl->AddMessage(msg, fd);
        SetScalar(entry_key, key_loc, entry_path, entry, key_fd);
        const Location value_loc = At(entry_value, key_loc);
        (*map_)[entry_path] = value_loc;
        if (value_fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !IsDuration(*value_fd)) {
          WalkMessage(entry_value, entry_path,
                      entry->GetReflection()->MutableMessage(entry, value_fd));
        } else {
          SetScalar(entry_value, value_loc, entry_path, entry, value_fd);
        }
      }
      return;
    }
    if (fd->is_repeated()) {
      if (!value.IsSequence()) {
        Error(loc, path, absl::StrCat("expected a list, got ", KindName(value)));
        return;
      }
      for (size_t i = 0; i < value.size(); ++i) {
        if (exhausted_) return;
        const YAML::Node element = value[i];
        const std::string element_path = absl::StrCat(path, "[", i, "]");
        const Location element_loc = At(element, loc);
        (*map_)[element_path] = element_loc;
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !IsDuration(*fd)) {
          WalkMessage(element, element_path, refl->AddMessage(msg, fd));
        } else {
          SetScalar(element, element_loc, element_path, msg, fd);
        }
      }
      return;
    }
    if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !IsDuration(*fd)) {
      WalkMessage(value, path, refl->MutableMessage(msg, fd));
      return;
    }
    SetScalar(value, loc, path, msg, fd);
  }

  // Sets (or, for repeated fields, adds) one scalar value.
  void SetScalar(const YAML::Node& node, Location loc, const std::string& path, Message* msg,
                 const FieldDescriptor* fd) {
    const Reflection* refl = msg->GetReflection();
    if (!node.IsScalar()) {
      Error(loc, path,
            absl::StrCat("expected ", IsDuration(*fd) ? "a duration" : ExpectedName(*fd), ", got ",
                         KindName(node)));
      return;
    }
    if (!Budget(node, path, node.Scalar().size())) return;
    const std::string text = node.Scalar();
    const bool rep = fd->is_repeated();
    if (IsDuration(*fd)) {
      std::optional<absl::Duration> d = common::ParseDurationText(text);
      if (!d) {
        Error(loc, path,
              absl::StrCat("invalid duration \"", text, "\" (write e.g. 30s, 5m, 1h, 1h30m)"));
        return;
      }
      if (*d > kMaxRunbookDuration) {
        Error(loc, path, absl::StrCat("duration \"", text, "\" out of range (at most 365d)"));
        return;
      }
      Message* out = rep ? refl->AddMessage(msg, fd) : refl->MutableMessage(msg, fd);
      out->CopyFrom(common::ToProtoDuration(*d));
      return;
    }
    auto bad = [&](absl::string_view what) {
      Error(loc, path, absl::StrCat("expected ", what, ", got \"", text, "\""));
    };
    switch (fd->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v;
        if (!absl::SimpleAtoi(text, &v)) return bad("an integer");
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_INT32 && (v < INT32_MIN || v > INT32_MAX)) {
          Error(loc, path, absl::StrCat("integer ", text, " out of range"));
          return;
        }
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
          rep ? refl->AddInt32(msg, fd, static_cast<int32_t>(v))
              : refl->SetInt32(msg, fd, static_cast<int32_t>(v));
        } else {
          rep ? refl->AddInt64(msg, fd, v) : refl->SetInt64(msg, fd, v);
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v;
        if (!absl::SimpleAtoi(text, &v)) return bad("a non-negative integer");
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_UINT32 && v > UINT32_MAX) {
          Error(loc, path, absl::StrCat("integer ", text, " out of range"));
          return;
        }
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
          rep ? refl->AddUInt32(msg, fd, static_cast<uint32_t>(v))
              : refl->SetUInt32(msg, fd, static_cast<uint32_t>(v));
        } else {
          rep ? refl->AddUInt64(msg, fd, v) : refl->SetUInt64(msg, fd, v);
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v;
        if (!absl::SimpleAtod(text, &v)) return bad("a number");
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
          rep ? refl->AddDouble(msg, fd, v) : refl->SetDouble(msg, fd, v);
        } else {
          rep ? refl->AddFloat(msg, fd, static_cast<float>(v))
              : refl->SetFloat(msg, fd, static_cast<float>(v));
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool v;
        if (text == "true") {
          v = true;
        } else if (text == "false") {
          v = false;
        } else {
          return bad("true or false");
        }
        rep ? refl->AddBool(msg, fd, v) : refl->SetBool(msg, fd, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumDescriptor* e = fd->enum_type();
        const EnumValueDescriptor* v = e->FindValueByName(text);
        if (v == nullptr) {
          std::string upper = absl::AsciiStrToUpper(text);
          std::replace(upper.begin(), upper.end(), '-', '_');
          v = e->FindValueByName(EnumPrefix(*e) + upper);
        }
        if (v == nullptr || v->number() == 0) {
          std::vector<std::string> names;
          for (int i = 1; i < e->value_count(); ++i) names.push_back(ShortEnumName(*e->value(i)));
          Error(loc, path,
                absl::StrCat("unknown value \"", text,
                             "\" (expected one of: ", absl::StrJoin(names, ", "), ")"));
          return;
        }
        rep ? refl->AddEnumValue(msg, fd, v->number()) : refl->SetEnumValue(msg, fd, v->number());
        return;
      }
      case FieldDescriptor::CPPTYPE_STRING:
        rep ? refl->AddString(msg, fd, text) : refl->SetString(msg, fd, text);
        return;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        Error(loc, path, "expected a mapping");
        return;
    }
  }

  std::string file_;
  SourceMap* map_;
  std::vector<Diagnostic>* diags_;
  size_t errors_ = 0;
  int nodes_ = 0;
  size_t scalar_bytes_ = 0;
  bool exhausted_ = false;
};

}  // namespace

std::string ShortEnumName(const EnumValueDescriptor& value) {
  const std::string prefix = EnumPrefix(*value.type());
  std::string name = value.name();
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(name);
}

bool YamlToMessage(absl::string_view file, absl::string_view yaml, Message* message,
                   SourceMap* source_map, std::vector<Diagnostic>* diagnostics) {
  const std::string file_name(file);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    const int column = e.mark.is_null() ? 0 : e.mark.column + 1;
    diagnostics->push_back({file_name, line, column, "", absl::StrCat("invalid YAML: ", e.msg)});
    return false;
  } catch (const std::exception& e) {
    diagnostics->push_back({file_name, 0, 0, "", absl::StrCat("invalid YAML: ", e.what())});
    return false;
  }
  Walker walker(file, source_map, diagnostics);
  if (!root.IsMap()) {
    const Location loc = walker.At(root, {1, 1});
    diagnostics->push_back(
        {file_name, loc.line, loc.column, "",
         absl::StrCat("expected a mapping at the top level, got ", KindName(root))});
    return false;
  }
  (*source_map)[""] = walker.At(root, {1, 1});
  try {
    walker.WalkMessage(root, "", message);
    if (walker.exhausted()) return false;
  } catch (const std::exception& e) {
    // yaml-cpp can throw while iterating a malformed tree; report it rather than crash.
    diagnostics->push_back({file_name, 0, 0, "", absl::StrCat("invalid YAML: ", e.what())});
    return false;
  }
  return true;
}

}  // namespace foghorn::config

// Sluice's JSON passthrough scan (loaded by src/common/native.ts, used by workers/passthrough.ts).
//
// One call per batch. For each record range it decides whether the bytes can go to Elasticsearch as
// they are: valid JSON (simdjson's DOM parser validates the whole text, UTF-8 included) whose top
// level is an object, without a leading BOM. It also says whether the text holds raw CR or LF (only
// ever whitespace in valid JSON) and finds the raw JSON token of up to eight dotted paths (the
// timestamp field, the `field:` id, pipeline, routing and up to four `{field:}` tokens of the index
// name), with JSON.parse's rule that the last of duplicate keys wins.
// Whatever it refuses or is unsure of (simdjson refuses some texts that JSON.parse accepts: integers
// beyond 64 bits, nesting deeper than 1024, lone surrogate escapes; an escaped key or an array on a
// path) is left to the JavaScript decoder, so verdicts and messages stay its own.

#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "simdjson.h"

namespace {

using simdjson::SIMDJSON_PADDING;

// Per-record result row in the caller's Uint32Array: status, then (kind, start, end) per path. Rows
// are at least 7 values (two paths) wide, so scanners of up to two paths keep the row they had.
constexpr size_t kMinStride = 7;
constexpr size_t kMaxPaths = 8;  // bits of `unsigned` masks in Walk: far below their width
constexpr uint32_t kSkip = 0xffffffff;
constexpr size_t kRetainedCapacity = 1 << 20;

enum Status : uint32_t { kJs = 0, kOk = 1, kOkNewlines = 2 };
enum Kind : uint32_t { kAbsent = 0, kString = 1, kNumber = 2, kOther = 3 };

constexpr uint32_t kUnsure = 0xffffffff;

struct Token {
  uint32_t kind = kAbsent;
  uint32_t start = 0;  // byte offsets into the record's text
  uint32_t end = 0;
};

using internal_implementation = simdjson::internal::dom_parser_implementation;

// A validated text and its structural indexes.
struct Structure {
  const char *text;
  const uint32_t *index;
  uint32_t count;
  char at(uint32_t i) const { return i < count ? text[index[i]] : '\0'; }
};

class JsonScanner : public Napi::ObjectWrap<JsonScanner> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "JsonScanner", {InstanceMethod<&JsonScanner::Scan>("scan")});
  }

  // new JsonScanner(paths: string[][]): at most kMaxPaths paths, each split on its dots.
  explicit JsonScanner(const Napi::CallbackInfo &info) : Napi::ObjectWrap<JsonScanner>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) {
      Napi::TypeError::New(env, "JsonScanner(paths): paths must be an array of string arrays").ThrowAsJavaScriptException();
      return;
    }
    Napi::Array paths = info[0].As<Napi::Array>();
    if (paths.Length() > kMaxPaths) {
      Napi::RangeError::New(env, "JsonScanner(paths): at most eight paths").ThrowAsJavaScriptException();
      return;
    }
    for (uint32_t p = 0; p < paths.Length(); p++) {
      Napi::Value path = paths.Get(p);
      if (!path.IsArray() || path.As<Napi::Array>().Length() == 0) {
        Napi::TypeError::New(env, "JsonScanner(paths): each path must be a non-empty array of strings").ThrowAsJavaScriptException();
        return;
      }
      Napi::Array names = path.As<Napi::Array>();
      std::vector<std::string> parts;
      for (uint32_t i = 0; i < names.Length(); i++) {
        Napi::Value name = names.Get(i);
        if (!name.IsString()) {
          Napi::TypeError::New(env, "JsonScanner(paths): each path must be a non-empty array of strings").ThrowAsJavaScriptException();
          return;
        }
        parts.push_back(name.As<Napi::String>().Utf8Value());
      }
      paths_.push_back(std::move(parts));
    }
    stride_ = std::max(kMinStride, 1 + 3 * paths_.size());
  }

 private:
  // scan(data: Uint8Array, ranges: Uint32Array, count: number, out: Uint32Array): number of records
  // accepted. ranges holds [start, end) into data per record, a start of 0xffffffff for a record
  // not to scan; out receives stride_ values per record (1 + 3 per path, at least kMinStride).
  Napi::Value Scan(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsNumber() || !info[3].IsTypedArray()) {
      Napi::TypeError::New(env, "scan(data: Uint8Array, ranges: Uint32Array, count: number, out: Uint32Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::TypedArray dataArg = info[0].As<Napi::TypedArray>();
    Napi::TypedArray rangesArg = info[1].As<Napi::TypedArray>();
    Napi::TypedArray outArg = info[3].As<Napi::TypedArray>();
    if (dataArg.TypedArrayType() != napi_uint8_array || rangesArg.TypedArrayType() != napi_uint32_array || outArg.TypedArrayType() != napi_uint32_array) {
      Napi::TypeError::New(env, "scan(data: Uint8Array, ranges: Uint32Array, count: number, out: Uint32Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array data = dataArg.As<Napi::Uint8Array>();
    Napi::Uint32Array ranges = rangesArg.As<Napi::Uint32Array>();
    Napi::Uint32Array out = outArg.As<Napi::Uint32Array>();
    const double countArg = info[2].As<Napi::Number>().DoubleValue();
    if (!(countArg >= 0) || countArg * 2 > ranges.ElementLength() || countArg * stride_ > out.ElementLength()) {
      Napi::RangeError::New(env, "scan: count exceeds ranges or out").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const size_t count = static_cast<size_t>(countArg);
    const uint8_t *bytes = data.Data();
    const size_t size = data.ByteLength();
    const uint32_t *range = ranges.Data();
    uint32_t *row = out.Data();

    int32_t accepted = 0;
    for (size_t r = 0; r < count; r++, row += stride_) {
      std::memset(row, 0, sizeof(uint32_t) * stride_);
      const uint32_t start = range[2 * r];
      const uint32_t end = range[2 * r + 1];
      if (start == kSkip || start > end || end > size) continue;
      if (ScanRecord(bytes, size, start, end, row)) accepted++;
    }
    // The parser keeps memory for the largest text it has seen, some 14 bytes per byte of it: after a
    // large record, a worker gives it back instead of holding it until the thread ends.
    if (dom_.capacity() > kRetainedCapacity) dom_ = simdjson::dom::parser{};
    if (scratch_.capacity() > kRetainedCapacity) std::vector<uint8_t>().swap(scratch_);
    return Napi::Number::New(env, accepted);
  }

  bool ScanRecord(const uint8_t *bytes, size_t size, uint32_t start, uint32_t end, uint32_t *row) {
    const size_t len = end - start;
    const uint8_t *text = bytes + start;
    // JSON.parse never sees a BOM: the JS decoder skips it, and sends the text without it.
    if (len >= 3 && text[0] == 0xef && text[1] == 0xbb && text[2] == 0xbf) return false;
    // simdjson reads SIMDJSON_PADDING bytes past the end: the batch's following bytes serve, except
    // near the end of the buffer, where the record is copied into a padded scratch buffer.
    const uint8_t *base = text;
    if (size - end < SIMDJSON_PADDING) {
      scratch_.resize(len + SIMDJSON_PADDING);
      std::memcpy(scratch_.data(), text, len);
      std::memset(scratch_.data() + len, ' ', SIMDJSON_PADDING);
      base = scratch_.data();
    }
    simdjson::dom::element root;
    if (dom_.parse(base, len, false).get(root) != simdjson::SUCCESS) return false;
    if (root.type() != simdjson::dom::element_type::OBJECT) return false;

    if (!paths_.empty()) {
      // The structural indexes of the text just validated (stage 1 of the same parse): positions of
      // every brace, bracket, colon, comma and the start of every string and scalar, in order.
      // simdjson marks this member "for benchmarking access"; the dependency is pinned to one version.
      const internal_implementation &impl = *dom_.implementation;
      Structure doc{reinterpret_cast<const char *>(base), impl.structural_indexes.get(), impl.n_structural_indexes};
      Token tokens[kMaxPaths];
      const unsigned all = (1u << paths_.size()) - 1;
      if (Walk(doc, 0, 0, all, tokens) == kUnsure) return false;
      for (size_t p = 0; p < paths_.size(); p++) {
        uint32_t *slot = row + 1 + 3 * p;
        slot[0] = tokens[p].kind;
        if (tokens[p].kind == kString || tokens[p].kind == kNumber) {
          slot[1] = start + tokens[p].start;
          slot[2] = start + tokens[p].end;
        }
      }
    }
    const bool newlines = std::memchr(text, '\n', len) != nullptr || std::memchr(text, '\r', len) != nullptr;
    row[0] = newlines ? kOkNewlines : kOk;
    return true;
  }

  // Follows the paths in `active` (a bit per path) through the object whose '{' is structural `i`,
  // at `depth` of the paths, visiting every field in order so that a later duplicate key replaces
  // what an earlier one found. Returns the structural after the object's '}', or kUnsure (the record
  // then takes the JS path). The text is valid JSON: the parser has just accepted it.
  uint32_t Walk(const Structure &doc, uint32_t i, size_t depth, unsigned active, Token *tokens) {
    uint32_t j = i + 1;
    if (doc.at(j) == '}') return j + 1;
    for (;;) {
      // A field: the key's opening quote, ':', the value.
      if (j + 3 >= doc.count || doc.at(j) != '"' || doc.at(j + 1) != ':') return kUnsure;
      const uint32_t keyStart = doc.index[j] + 1;
      const uint32_t keyEnd = TrimEnd(doc, keyStart, doc.index[j + 1]) - 1;  // the closing quote
      const std::string_view key(doc.text + keyStart, keyEnd - keyStart);
      // An escaped key would need unescaping to compare: JS decides those.
      if (std::memchr(key.data(), '\\', key.size()) != nullptr) return kUnsure;
      unsigned leaf = 0;
      unsigned deeper = 0;
      for (size_t p = 0; p < paths_.size(); p++) {
        if (!(active & (1u << p)) || paths_[p][depth] != key) continue;
        tokens[p] = Token{};
        if (depth + 1 == paths_[p].size()) leaf |= 1u << p;
        else deeper |= 1u << p;
      }
      const uint32_t v = j + 2;
      const char c = doc.at(v);
      if (leaf) {
        Token token{kOther, 0, 0};
        if (c == '"' || c == '-' || (c >= '0' && c <= '9')) {
          // A string or number runs up to the next structural character, whitespace excluded.
          token = Token{c == '"' ? kString : kNumber, doc.index[v], TrimEnd(doc, doc.index[v], doc.index[v + 1])};
        }
        for (size_t p = 0; p < paths_.size(); p++) {
          if (leaf & (1u << p)) tokens[p] = token;
        }
      }
      uint32_t next;
      // JS reads an array by index and `length` along a path: not modelled here.
      if (deeper && c == '[') return kUnsure;
      if (deeper && c == '{') next = Walk(doc, v, depth + 1, deeper, tokens);
      else next = Skip(doc, v);  // a scalar or null on the way leaves the path absent, as getPath finds it
      if (next == kUnsure || next >= doc.count) return kUnsure;
      if (doc.at(next) == '}') return next + 1;
      if (doc.at(next) != ',') return kUnsure;
      j = next + 1;
    }
  }

  // The structural after the value at structural `v`.
  static uint32_t Skip(const Structure &doc, uint32_t v) {
    const char c = doc.at(v);
    if (c != '{' && c != '[') return v + 1;
    uint32_t depth = 0;
    for (uint32_t k = v; k < doc.count; k++) {
      const char d = doc.at(k);
      if (d == '{' || d == '[') depth++;
      else if ((d == '}' || d == ']') && --depth == 0) return k + 1;
    }
    return kUnsure;
  }

  // Where the text before byte `end` stops once trailing JSON whitespace is left out (not before `from`).
  static uint32_t TrimEnd(const Structure &doc, uint32_t from, uint32_t end) {
    while (end > from && IsSpace(doc.text[end - 1])) end--;
    return end;
  }

  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  std::vector<std::vector<std::string>> paths_;
  size_t stride_ = kMinStride;
  simdjson::dom::parser dom_;
  std::vector<uint8_t> scratch_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("JsonScanner", JsonScanner::Define(env));
  exports.Set("simdjsonVersion", Napi::String::New(env, SIMDJSON_VERSION));
  exports.Set("implementation", Napi::String::New(env, std::string(simdjson::get_active_implementation()->name())));
  return exports;
}

}  // namespace

NODE_API_MODULE(sluice_native, Init)

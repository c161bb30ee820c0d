// Sluice's native Kafka paths (loaded by src/kafka/native-consume.ts). One .node file, two roles:
//
// - A librdkafka plugin. node-rdkafka does not expose its rd_kafka_t, so a client is created with
//   'plugin.library.paths' naming this file and 'sluice.native.id' set to a unique string: librdkafka
//   loads the file and calls conf_init, and the interceptors below register the client under that id
//   when it is created (on_new) and forget it when it is destroyed (on_destroy).
// - An N-API addon. consume(id, …) drains a consumer's queue as async work on the libuv
//   thread pool: it copies each message's value, key and headers into the caller's buffer, writes a
//   row per record into the caller's typed arrays and destroys the message at once (a message pins
//   its whole fetch buffer). One call per batch instead of one JS object per message.
//   produce(id, …) writes a dead letter through a producer with its headers' exact bytes, which
//   node-rdkafka's produce() turns into text (see "Producing" below).
//
// Nothing consumed is ever lost: a message that does not fit the caller's buffer, and every message
// after it, is kept here in order and delivered first by the next call, unless its partition was
// revoked meanwhile (its next owner then reads it from the committed offset). release() and the
// client's destruction destroy what is kept. The client's destruction waits for a call that is
// using it, so no call outlives its rd_kafka_t.

#include <napi.h>
#include <librdkafka/rdkafka.h>

#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

constexpr const char *kIdProperty = "sluice.native.id";
constexpr const char *kInterceptorName = "sluice.native";
// A null value, key or header list in the caller's arrays (NULL_REF in src/common/batch-layout.ts);
// also the largest buffer length, so that no byte position can be mistaken for it.
constexpr uint32_t kNullRef = 0xffffffff;
// Largest wait of a call (int32 for librdkafka); the client's destruction may wait this long.
constexpr double kMaxTimeoutMs = 2147483647;

// ---------------------------------------------------------------------------------------------
// Registry of the clients created with a sluice.native.id, shared by librdkafka's threads (on_new,
// on_destroy) and Node's (consume, release).

struct Acks;

struct Client {
  std::string id;
  rd_kafka_t *rk;
  // A producer's acknowledgements (null for a consumer).
  std::shared_ptr<Acks> acks;
  // Set under the registry lock by on_destroy: no call may touch rk or `kept` any more.
  bool destroyed = false;
  // A JS call not yet called back: one call per client at a time.
  bool inFlight = false;
  // A call is using rk and holds the kept messages: on_destroy waits until it is false.
  bool running = false;
  // Messages consumed from librdkafka but not yet delivered, in consume order.
  std::deque<rd_kafka_message_t *> kept;
};

struct Registry {
  std::mutex mu;
  std::condition_variable idle;  // `running` went false
  std::map<std::string, std::shared_ptr<Client>> byId;
};

// Never destroyed: librdkafka's threads may still destroy a client while the process exits.
Registry &registry() {
  static Registry *r = new Registry();
  return *r;
}

void DestroyAll(std::deque<rd_kafka_message_t *> &messages) {
  for (rd_kafka_message_t *m : messages) rd_kafka_message_destroy(m);
  messages.clear();
}

// A producer's messages sent by produce() and not yet acknowledged, and where their outcomes go.
struct Acks {
  std::mutex mu;
  // Each message's token, from on_send until on_acknowledgement.
  std::unordered_map<const rd_kafka_message_t *, double> tokens;
  // The JS function attach() installed; released when the client is destroyed.
  Napi::ThreadSafeFunction tsfn;
  bool attached = false;
};

// ---------------------------------------------------------------------------------------------
// The plugin: interceptors carrying sluice.native.id from the configuration to the client.

// Per configuration object: the id set on it. librdkafka copies a configuration (node-rdkafka's
// C++ wrapper does) without its interceptors, so on_conf_dup installs them again with the id.
struct ConfState {
  std::string id;
  // A producer's acknowledgements: its on_send and on_acknowledgement interceptors point here. Kept
  // until this configuration, which the client owns, is destroyed: librdkafka acknowledges the
  // messages it purges after on_destroy.
  std::shared_ptr<Acks> acks;
};

void InstallConfInterceptors(rd_kafka_conf_t *conf, const std::string &id);

rd_kafka_conf_res_t OnConfSet(rd_kafka_conf_t *, const char *name, const char *val, char *errstr, size_t errstr_size,
                              void *opaque) {
  if (std::strcmp(name, kIdProperty) != 0) return RD_KAFKA_CONF_UNKNOWN;
  if (val != nullptr && val[0] == '\0') {
    std::snprintf(errstr, errstr_size, "%s must not be empty", kIdProperty);
    return RD_KAFKA_CONF_INVALID;
  }
  static_cast<ConfState *>(opaque)->id = val != nullptr ? val : "";
  return RD_KAFKA_CONF_OK;
}

// Defined with produce() below.
rd_kafka_resp_err_t OnSend(rd_kafka_t *rk, rd_kafka_message_t *m, void *opaque);
rd_kafka_resp_err_t OnAcknowledgement(rd_kafka_t *rk, rd_kafka_message_t *m, void *opaque);

rd_kafka_resp_err_t OnConfDup(rd_kafka_conf_t *new_conf, const rd_kafka_conf_t *, size_t, const char **, void *opaque) {
  InstallConfInterceptors(new_conf, static_cast<ConfState *>(opaque)->id);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t OnConfDestroy(void *opaque) {
  delete static_cast<ConfState *>(opaque);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

// Runs inside rd_kafka_destroy() (librdkafka's main thread), before any of the client's state goes.
rd_kafka_resp_err_t OnDestroy(rd_kafka_t *rk, void *) {
  Registry &r = registry();
  std::unique_lock<std::mutex> lock(r.mu);
  for (auto it = r.byId.begin(); it != r.byId.end(); ++it) {
    if (it->second->rk != rk) continue;
    std::shared_ptr<Client> c = it->second;
    r.byId.erase(it);
    c->destroyed = true;
    // A call queued but not started will see `destroyed` and not touch rk; a running one is
    // bounded by its timeouts.
    r.idle.wait(lock, [&] { return !c->running; });
    // librdkafka's teardown waits for every message the application holds.
    DestroyAll(c->kept);
    if (c->acks) {
      std::lock_guard<std::mutex> acksLock(c->acks->mu);
      if (c->acks->attached) c->acks->tsfn.Release();
      c->acks->attached = false;
    }
    break;
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t OnNew(rd_kafka_t *rk, const rd_kafka_conf_t *, void *opaque, char *errstr, size_t errstr_size) {
  const std::string &id = static_cast<ConfState *>(opaque)->id;
  if (id.empty()) return RD_KAFKA_RESP_ERR_NO_ERROR;
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.byId.count(id) != 0) {
    std::snprintf(errstr, errstr_size, "%s \"%s\" is already registered to another client; this one is not", kIdProperty,
                  id.c_str());
    return RD_KAFKA_RESP_ERR__CONFLICT;
  }
  rd_kafka_resp_err_t err = rd_kafka_interceptor_add_on_destroy(rk, kInterceptorName, OnDestroy, nullptr);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::snprintf(errstr, errstr_size, "cannot add the on_destroy interceptor: %s", rd_kafka_err2str(err));
    return err;
  }
  auto c = std::make_shared<Client>();
  c->id = id;
  c->rk = rk;
  if (rd_kafka_type(rk) == RD_KAFKA_PRODUCER) {
    auto *state = static_cast<ConfState *>(opaque);
    state->acks = std::make_shared<Acks>();
    if ((err = rd_kafka_interceptor_add_on_send(rk, kInterceptorName, OnSend, state->acks.get())) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        (err = rd_kafka_interceptor_add_on_acknowledgement(rk, kInterceptorName, OnAcknowledgement, state->acks.get())) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::snprintf(errstr, errstr_size, "cannot add the producer's interceptors: %s", rd_kafka_err2str(err));
      return err;
    }
    c->acks = state->acks;
  }
  r.byId.emplace(id, std::move(c));
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

void InstallConfInterceptors(rd_kafka_conf_t *conf, const std::string &id) {
  auto *state = new ConfState{id, nullptr};
  // Already installed on this configuration (librdkafka loads the plugin again when it copies
  // plugin.library.paths after on_conf_dup): the first installation stays.
  if (rd_kafka_conf_interceptor_add_on_conf_set(conf, kInterceptorName, OnConfSet, state) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    delete state;
    return;
  }
  rd_kafka_conf_interceptor_add_on_conf_dup(conf, kInterceptorName, OnConfDup, state);
  rd_kafka_conf_interceptor_add_on_conf_destroy(conf, kInterceptorName, OnConfDestroy, state);
  rd_kafka_conf_interceptor_add_on_new(conf, kInterceptorName, OnNew, state);
}

// ---------------------------------------------------------------------------------------------
// Copying messages into the caller's arrays.

void PutU32(uint8_t *at, uint32_t v) {
  at[0] = static_cast<uint8_t>(v);
  at[1] = static_cast<uint8_t>(v >> 8);
  at[2] = static_cast<uint8_t>(v >> 16);
  at[3] = static_cast<uint8_t>(v >> 24);
}

// The message's headers, or null when it has none (node-rdkafka then gives no `headers` either).
const rd_kafka_headers_t *HeadersOf(const rd_kafka_message_t *m) {
  rd_kafka_headers_t *h = nullptr;
  return rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR ? h : nullptr;
}

// Serialized headers: per header, u32 name length, name, u32 value length (kNullRef: null), value.
// Names are what librdkafka hands out: NUL-terminated strings.
size_t HeaderBytes(const rd_kafka_headers_t *h) {
  size_t bytes = 0;
  const char *name;
  const void *value;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
    bytes += 8 + std::strlen(name) + (value != nullptr ? size : 0);
  }
  return bytes;
}

uint8_t *WriteHeaders(const rd_kafka_headers_t *h, uint8_t *out) {
  const char *name;
  const void *value;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
    size_t nameLength = std::strlen(name);
    PutU32(out, static_cast<uint32_t>(nameLength));
    std::memcpy(out + 4, name, nameLength);
    out += 4 + nameLength;
    if (value == nullptr) {
      PutU32(out, kNullRef);
      out += 4;
    } else {
      PutU32(out, static_cast<uint32_t>(size));
      if (size > 0) std::memcpy(out + 4, value, size);
      out += 4 + size;
    }
  }
  return out;
}

// Bytes a record takes in the caller's buffer: value, key, serialized headers.
size_t RecordBytes(const rd_kafka_message_t *m) {
  size_t bytes = (m->payload != nullptr ? m->len : 0) + (m->key != nullptr ? m->key_len : 0);
  if (const rd_kafka_headers_t *h = HeadersOf(m)) bytes += HeaderBytes(h);
  return bytes;
}

struct Run {
  std::string topic;
  int32_t partition;
  uint32_t start;
  uint32_t end;
};

struct MessageError {
  int code;
  std::string message;
  std::string topic;  // empty: unknown
  int32_t partition;  // < 0: unknown
};

// One consume call: arguments validated on the JS thread, work on the thread pool, result back on
// the JS thread.
class ConsumeWorker : public Napi::AsyncWorker {
 public:
  struct Args {
    std::string id;
    Napi::Uint8Array data;
    uint32_t at;
    Napi::Uint32Array index;
    Napi::Float64Array coords;
    Napi::Uint32Array headers;
    uint32_t maxMsgs;
    int firstTimeoutMs;
    int fillTimeoutMs;
  };

  ConsumeWorker(Napi::Function callback, std::shared_ptr<Client> consumer, Args &a)
      : Napi::AsyncWorker(callback, "sluice.kafka.consume"),
        consumer_(std::move(consumer)),
        id_(a.id),
        data_(a.data.Data()),
        capacity_(a.data.ElementLength()),
        at_(a.at),
        index_(a.index.Data()),
        coords_(a.coords.Data()),
        headers_(a.headers.Data()),
        maxMsgs_(a.maxMsgs),
        firstTimeoutMs_(a.firstTimeoutMs),
        fillTimeoutMs_(a.fillTimeoutMs) {
    // The arrays stay alive (not collected) until the call returns.
    dataRef_ = Napi::Persistent(static_cast<Napi::Object>(a.data));
    indexRef_ = Napi::Persistent(static_cast<Napi::Object>(a.index));
    coordsRef_ = Napi::Persistent(static_cast<Napi::Object>(a.coords));
    headersRef_ = Napi::Persistent(static_cast<Napi::Object>(a.headers));
  }

 protected:
  void Execute() override {
    Registry &r = registry();
    std::deque<rd_kafka_message_t *> kept;
    {
      std::lock_guard<std::mutex> lock(r.mu);
      if (!consumer_ || consumer_->destroyed) {
        failure_ = "no Kafka consumer registered as " + id_;
        return;
      }
      consumer_->running = true;
      kept.swap(consumer_->kept);
    }
    Fill(consumer_->rk, kept);
    {
      std::lock_guard<std::mutex> lock(r.mu);
      consumer_->kept.swap(leftover_);
      consumer_->running = false;
    }
    r.idle.notify_all();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (consumer_) {
      std::lock_guard<std::mutex> lock(registry().mu);
      consumer_->inFlight = false;
    }
    if (!failure_.empty()) {
      Callback().Call({Napi::Error::New(env, failure_).Value()});
      return;
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("count", Napi::Number::New(env, static_cast<double>(taken_.size())));
    result.Set("end", Napi::Number::New(env, static_cast<double>(end_)));
    Napi::Array runs = Napi::Array::New(env, runs_.size());
    for (size_t i = 0; i < runs_.size(); i++) {
      Napi::Object run = Napi::Object::New(env);
      run.Set("topic", Napi::String::New(env, runs_[i].topic));
      run.Set("partition", Napi::Number::New(env, runs_[i].partition));
      run.Set("start", Napi::Number::New(env, runs_[i].start));
      run.Set("end", Napi::Number::New(env, runs_[i].end));
      runs.Set(static_cast<uint32_t>(i), run);
    }
    result.Set("runs", runs);
    result.Set("needBytes", Napi::Number::New(env, static_cast<double>(needBytes_)));
    if (error_) {
      Napi::Object error = Napi::Object::New(env);
      error.Set("code", Napi::Number::New(env, error_->code));
      error.Set("message", Napi::String::New(env, error_->message));
      if (!error_->topic.empty()) error.Set("topic", Napi::String::New(env, error_->topic));
      if (error_->partition >= 0) error.Set("partition", Napi::Number::New(env, error_->partition));
      result.Set("error", error);
    } else {
      result.Set("error", env.Null());
    }
    Callback().Call({env.Null(), result});
  }

 private:
  // Takes messages in consume order, the kept ones first, until the buffer, maxMsgs or an error
  // stops it, then writes the rows grouped by topic-partition.
  void Fill(rd_kafka_t *rk, std::deque<rd_kafka_message_t *> &kept) {
    if (!kept.empty()) {
      rd_kafka_topic_partition_list_t *assignment = nullptr;
      if (rd_kafka_assignment(rk, &assignment) != RD_KAFKA_RESP_ERR_NO_ERROR) assignment = nullptr;
      // The application's position of each assigned partition: one past the last message consumed
      // from it, the kept ones included, unless the partition was assigned anew since.
      if (assignment != nullptr && rd_kafka_position(rk, assignment) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(assignment);
        assignment = nullptr;
      }
      while (!kept.empty()) {
        rd_kafka_message_t *m = kept.front();
        kept.pop_front();
        // A partition revoked since its messages were kept, or revoked and assigned again (its
        // position went back to where the new assignment fetches from, at or before the message):
        // the application never saw them, so the partition's current owner reads them again from
        // the committed offset; delivered here they would be duplicates, or records of an older
        // assignment mixed into the new one (librdkafka drops queued ones the same way).
        if (assignment != nullptr && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(assignment, rd_kafka_topic_name(m->rkt), m->partition);
          if (tp == nullptr || tp->err != RD_KAFKA_RESP_ERR_NO_ERROR || tp->offset <= m->offset) {
            rd_kafka_message_destroy(m);
            continue;
          }
        }
        Offer(m);
      }
      if (assignment != nullptr) rd_kafka_topic_partition_list_destroy(assignment);
    }
    if (!stopped_ && taken_.size() < maxMsgs_) Poll(rk);
    Write();
  }

  // The first message with rd_kafka_consumer_poll, which also serves the callbacks node-rdkafka
  // registered (rebalance, commit, stats, log, error) and counts as the application's poll for
  // max.poll.interval.ms; the rest with one batch call. Without waiting for a first message when
  // kept ones are already there.
  void Poll(rd_kafka_t *rk) {
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);
    if (queue == nullptr) {
      pollFailure_ = "the client has no consumer queue (not a consumer with a group.id)";
      return;
    }
    rd_kafka_message_t *first = rd_kafka_consumer_poll(rk, taken_.empty() ? firstTimeoutMs_ : 0);
    if (first != nullptr) {
      Offer(first);
      if (!stopped_ && taken_.size() < maxMsgs_) {
        std::vector<rd_kafka_message_t *> batch(maxMsgs_ - taken_.size());
        ssize_t n = rd_kafka_consume_batch_queue(queue, fillTimeoutMs_, batch.data(), batch.size());
        if (n < 0) {
          pollFailure_ = rd_kafka_err2str(rd_kafka_last_error());
        } else {
          for (ssize_t i = 0; i < n; i++) Offer(batch[i]);
        }
      }
    }
    rd_kafka_queue_destroy(queue);
    if (!pollFailure_.empty() && taken_.empty() && !error_) failure_ = "consume failed: " + pollFailure_;
  }

  // One message, in consume order: taken if it fits, else kept with all after it.
  void Offer(rd_kafka_message_t *m) {
    if (stopped_) {
      leftover_.push_back(m);
      return;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      return;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      error_.reset(new MessageError{m->err, rd_kafka_message_errstr(m), m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "",
                                    m->rkt != nullptr ? m->partition : -1});
      rd_kafka_message_destroy(m);
      stopped_ = true;
      return;
    }
    if (taken_.size() == maxMsgs_) {  // only kept messages get here: a call for fewer than before
      stopped_ = true;
      leftover_.push_back(m);
      return;
    }
    size_t need = RecordBytes(m);
    if (need > capacity_ - at_ - used_) {
      needBytes_ = need;
      stopped_ = true;
      leftover_.push_back(m);
      return;
    }
    used_ += need;
    taken_.push_back(m);
  }

  // Rows grouped by topic-partition in the order partitions first appear, consume (so offset)
  // order within each; bytes in row order. Each message is destroyed once copied.
  void Write() {
    struct Group {
      rd_kafka_topic_t *rkt;
      int32_t partition;
      uint32_t next;  // next row of the group while placing
    };
    std::vector<Group> groups;
    std::vector<uint32_t> groupOf(taken_.size());
    size_t last = 0;
    for (size_t i = 0; i < taken_.size(); i++) {
      const rd_kafka_message_t *m = taken_[i];
      size_t g = last;
      if (g >= groups.size() || groups[g].rkt != m->rkt || groups[g].partition != m->partition) {
        for (g = 0; g < groups.size() && (groups[g].rkt != m->rkt || groups[g].partition != m->partition); g++) {
        }
        if (g == groups.size()) groups.push_back({m->rkt, m->partition, 0});
      }
      groups[g].next++;
      groupOf[i] = static_cast<uint32_t>(g);
      last = g;
    }
    uint32_t start = 0;
    for (Group &g : groups) {
      uint32_t count = g.next;
      runs_.push_back({rd_kafka_topic_name(g.rkt), g.partition, start, start + count});
      g.next = start;
      start += count;
    }
    std::vector<rd_kafka_message_t *> rows(taken_.size());
    for (size_t i = 0; i < taken_.size(); i++) rows[groups[groupOf[i]].next++] = taken_[i];

    uint8_t *out = data_ + at_;
    for (size_t row = 0; row < rows.size(); row++) {
      rd_kafka_message_t *m = rows[row];
      uint32_t *ix = index_ + 4 * row;
      if (m->payload != nullptr) {
        ix[0] = static_cast<uint32_t>(out - data_);
        if (m->len > 0) std::memcpy(out, m->payload, m->len);
        out += m->len;
        ix[1] = static_cast<uint32_t>(out - data_);
      } else {
        ix[0] = ix[1] = kNullRef;
      }
      if (m->key != nullptr) {
        ix[2] = static_cast<uint32_t>(out - data_);
        if (m->key_len > 0) std::memcpy(out, m->key, m->key_len);
        out += m->key_len;
        ix[3] = static_cast<uint32_t>(out - data_);
      } else {
        ix[2] = ix[3] = kNullRef;
      }
      uint32_t *hx = headers_ + 2 * row;
      if (const rd_kafka_headers_t *h = HeadersOf(m)) {
        hx[0] = static_cast<uint32_t>(out - data_);
        out = WriteHeaders(h, out);
        hx[1] = static_cast<uint32_t>(out - data_);
      } else {
        hx[0] = hx[1] = kNullRef;
      }
      coords_[2 * row] = static_cast<double>(m->offset);
      coords_[2 * row + 1] = static_cast<double>(rd_kafka_message_timestamp(m, nullptr));
      rd_kafka_message_destroy(m);
    }
    end_ = static_cast<size_t>(out - data_);
  }

  std::shared_ptr<Client> consumer_;
  std::string id_;
  uint8_t *data_;
  size_t capacity_;
  size_t at_;
  uint32_t *index_;
  double *coords_;
  uint32_t *headers_;
  size_t maxMsgs_;
  int firstTimeoutMs_;
  int fillTimeoutMs_;
  Napi::ObjectReference dataRef_, indexRef_, coordsRef_, headersRef_;

  std::vector<rd_kafka_message_t *> taken_;
  std::deque<rd_kafka_message_t *> leftover_;
  size_t used_ = 0;
  size_t end_ = 0;
  size_t needBytes_ = 0;
  bool stopped_ = false;
  std::unique_ptr<MessageError> error_;
  std::vector<Run> runs_;
  std::string failure_;      // calls back with an Error
  std::string pollFailure_;  // an error of the poll itself: failure_ when nothing was consumed
};

// ---------------------------------------------------------------------------------------------
// The JS API.

Napi::Value Throw(Napi::Error error) {
  error.ThrowAsJavaScriptException();
  return Napi::Value();
}

bool IsTyped(const Napi::Value &v, napi_typedarray_type type) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type;
}

bool IsWhole(const Napi::Value &v, double min, double max) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  return d >= min && d <= max && std::floor(d) == d;
}

// consume(id, data, at, index, coords, headers, maxMsgs, firstTimeoutMs, fillTimeoutMs, callback)
Napi::Value Consume(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 10) {
    return Throw(Napi::TypeError::New(env, "consume: expected 10 arguments (id, data, at, index, coords, headers, maxMsgs, "
                                           "firstTimeoutMs, fillTimeoutMs, callback), got " +
                                               std::to_string(info.Length())));
  }
  if (!info[0].IsString()) return Throw(Napi::TypeError::New(env, "consume: id must be a string"));
  if (!IsTyped(info[1], napi_uint8_array)) return Throw(Napi::TypeError::New(env, "consume: data must be a Uint8Array"));
  if (!IsTyped(info[3], napi_uint32_array)) return Throw(Napi::TypeError::New(env, "consume: index must be a Uint32Array"));
  if (!IsTyped(info[4], napi_float64_array)) return Throw(Napi::TypeError::New(env, "consume: coords must be a Float64Array"));
  if (!IsTyped(info[5], napi_uint32_array)) return Throw(Napi::TypeError::New(env, "consume: headers must be a Uint32Array"));
  if (!info[9].IsFunction()) return Throw(Napi::TypeError::New(env, "consume: callback must be a function"));

  ConsumeWorker::Args a{info[0].As<Napi::String>().Utf8Value(),
                        info[1].As<Napi::Uint8Array>(),
                        0,
                        info[3].As<Napi::Uint32Array>(),
                        info[4].As<Napi::Float64Array>(),
                        info[5].As<Napi::Uint32Array>(),
                        0,
                        0,
                        0};
  size_t length = a.data.ElementLength();
  if (length >= kNullRef) {
    return Throw(Napi::RangeError::New(env, "consume: data must be shorter than 4294967295 bytes (positions are 32-bit), got " +
                                                std::to_string(length)));
  }
  if (!IsWhole(info[2], 0, static_cast<double>(length))) {
    return Throw(Napi::RangeError::New(env, "consume: at must be a whole number from 0 to data.length (" + std::to_string(length) + ")"));
  }
  if (!IsWhole(info[6], 1, 1 << 24)) {
    return Throw(Napi::RangeError::New(env, "consume: maxMsgs must be a whole number from 1 to 16777216"));
  }
  if (!IsWhole(info[7], 0, kMaxTimeoutMs)) {
    return Throw(Napi::RangeError::New(env, "consume: firstTimeoutMs must be a whole number of milliseconds from 0 to 2147483647"));
  }
  if (!IsWhole(info[8], 0, kMaxTimeoutMs)) {
    return Throw(Napi::RangeError::New(env, "consume: fillTimeoutMs must be a whole number of milliseconds from 0 to 2147483647"));
  }
  a.at = info[2].As<Napi::Number>().Uint32Value();
  a.maxMsgs = info[6].As<Napi::Number>().Uint32Value();
  a.firstTimeoutMs = info[7].As<Napi::Number>().Int32Value();
  a.fillTimeoutMs = info[8].As<Napi::Number>().Int32Value();
  const size_t rows = a.maxMsgs;
  struct {
    const char *name;
    size_t length;
    size_t stride;
  } tables[] = {{"index", a.index.ElementLength(), 4}, {"coords", a.coords.ElementLength(), 2}, {"headers", a.headers.ElementLength(), 2}};
  for (const auto &t : tables) {
    if (t.length < t.stride * rows) {
      return Throw(Napi::RangeError::New(env, std::string("consume: ") + t.name + " must hold at least " + std::to_string(t.stride) +
                                                  " * maxMsgs = " + std::to_string(t.stride * rows) + " elements, got " +
                                                  std::to_string(t.length)));
    }
  }

  std::shared_ptr<Client> consumer;
  {
    std::lock_guard<std::mutex> lock(registry().mu);
    auto it = registry().byId.find(a.id);
    if (it != registry().byId.end()) {
      consumer = it->second;
      if (consumer->inFlight) {
        return Throw(Napi::Error::New(env, "consume: a call for " + a.id + " is already in flight; wait for its callback"));
      }
      consumer->inFlight = true;
    }
  }
  // An unknown id calls back with its error, as a client destroyed before the call runs does.
  (new ConsumeWorker(info[9].As<Napi::Function>(), std::move(consumer), a))->Queue();
  return env.Undefined();
}

// release(id): destroys the messages kept for id. Idempotent; an unknown id has nothing kept.
Napi::Value Release(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return Throw(Napi::TypeError::New(env, "release: id must be a string"));
  std::string id = info[0].As<Napi::String>().Utf8Value();
  std::lock_guard<std::mutex> lock(registry().mu);
  auto it = registry().byId.find(id);
  if (it == registry().byId.end()) return env.Undefined();
  if (it->second->inFlight) {
    return Throw(Napi::Error::New(env, "release: a consume call for " + id + " is in flight; release after its callback"));
  }
  DestroyAll(it->second->kept);
  return env.Undefined();
}

// ---------------------------------------------------------------------------------------------
// Producing: a dead letter keeps its headers' bytes.
//
// node-rdkafka's produce() makes every header value text (its C++ takes the value's string, then
// its UTF-8 as a C string): bytes that are not UTF-8 come out as U+FFFD and a value ends at its
// first NUL. produce() here hands librdkafka the bytes as they are. Its outcome cannot come through
// node-rdkafka's delivery reports, whose opaque must be node-rdkafka's own (it is null here, and
// node-rdkafka reports such a message without one): on_send, which librdkafka calls inside
// rd_kafka_producev on the producing thread, notes the message's token, and on_acknowledgement,
// called once the message is delivered or has failed for good (on librdkafka's threads, or inside
// rd_kafka_producev when no partition takes it), hands token and outcome to the function attach()
// installed.

struct Delivery {
  double token;
  int code;
  std::string message;
};

// The message rd_kafka_producev is making on this thread, and its token.
struct Sending {
  Acks *acks;
  double token;
};
thread_local Sending *tSending = nullptr;

rd_kafka_resp_err_t OnSend(rd_kafka_t *, rd_kafka_message_t *m, void *opaque) {
  Sending *sending = tSending;
  if (sending == nullptr || sending->acks != opaque) return RD_KAFKA_RESP_ERR_NO_ERROR;
  std::lock_guard<std::mutex> lock(sending->acks->mu);
  sending->acks->tokens[m] = sending->token;
  tSending = nullptr;  // one message per call
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

void CallDelivery(Napi::Env env, Napi::Function callback, Delivery *d) {
  std::unique_ptr<Delivery> delivery(d);
  // No env: the function is being torn down with the process; the outcome has nobody to go to.
  if (env == nullptr || callback.IsEmpty()) return;
  callback.Call({Napi::Number::New(env, delivery->token), Napi::Number::New(env, delivery->code),
                 Napi::String::New(env, delivery->message)});
}

rd_kafka_resp_err_t OnAcknowledgement(rd_kafka_t *, rd_kafka_message_t *m, void *opaque) {
  auto *acks = static_cast<Acks *>(opaque);
  std::lock_guard<std::mutex> lock(acks->mu);
  auto it = acks->tokens.find(m);
  if (it == acks->tokens.end()) return RD_KAFKA_RESP_ERR_NO_ERROR;
  auto *d = new Delivery{it->second, m->err, m->err != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str(m->err) : ""};
  acks->tokens.erase(it);
  // Never blocks (the queue is unbounded); after the client's destruction nobody waits any more.
  if (!acks->attached || acks->tsfn.NonBlockingCall(d, CallDelivery) != napi_ok) delete d;
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

// attach(id, onDelivery(token, code, message)): where the outcomes of produce(id, …) go, code 0 for
// delivered, else librdkafka's error. Once per producer; it does not keep the process alive.
Napi::Value Attach(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsFunction()) {
    return Throw(Napi::TypeError::New(env, "attach: expected (id: string, onDelivery: function)"));
  }
  std::string id = info[0].As<Napi::String>().Utf8Value();
  std::lock_guard<std::mutex> lock(registry().mu);
  auto it = registry().byId.find(id);
  if (it == registry().byId.end() || !it->second->acks) {
    return Throw(Napi::Error::New(env, "attach: no producer is registered as " + id + " (is it connected?)"));
  }
  Acks &acks = *it->second->acks;
  std::lock_guard<std::mutex> acksLock(acks.mu);
  if (acks.attached) return Throw(Napi::Error::New(env, "attach: the producer " + id + " already has its delivery function"));
  acks.tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "sluice dead-letter deliveries", 0, 1);
  acks.tsfn.Unref(env);
  acks.attached = true;
  return env.Undefined();
}

// The bytes of a Buffer (or other Uint8Array) argument, or of a string's UTF-8; null: none.
bool BytesOf(const Napi::Value &v, std::string &text, const uint8_t *&data, size_t &size, bool &isNull) {
  isNull = v.IsNull();
  if (isNull) return true;
  if (IsTyped(v, napi_uint8_array)) {
    auto a = v.As<Napi::Uint8Array>();
    data = a.Data();
    size = a.ByteLength();
    return true;
  }
  if (v.IsString()) {
    text = v.As<Napi::String>().Utf8Value();
    data = reinterpret_cast<const uint8_t *>(text.data());
    size = text.size();
    return true;
  }
  return false;
}

// produce(id, topic, value, key, timestamp, headerNames, headerValues, token): one message, copied,
// to any partition of `topic`; value and key a Uint8Array, a string or null; header values a
// Uint8Array or a string; timestamp in ms (0: librdkafka's clock). Its outcome goes to the function
// attached for `id`, with `token`. Throws an Error with librdkafka's `code` when it is refused at
// once (a full queue, a message too large): that message has no outcome to come.
Napi::Value Produce(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 8) {
    return Throw(Napi::TypeError::New(env, "produce: expected 8 arguments (id, topic, value, key, timestamp, headerNames, "
                                           "headerValues, token), got " +
                                               std::to_string(info.Length())));
  }
  if (!info[0].IsString()) return Throw(Napi::TypeError::New(env, "produce: id must be a string"));
  if (!info[1].IsString()) return Throw(Napi::TypeError::New(env, "produce: topic must be a string"));
  std::string valueText, keyText;
  const uint8_t *value = nullptr, *key = nullptr;
  size_t valueSize = 0, keySize = 0;
  bool valueNull = false, keyNull = false;
  if (!BytesOf(info[2], valueText, value, valueSize, valueNull)) {
    return Throw(Napi::TypeError::New(env, "produce: value must be a Uint8Array, a string or null"));
  }
  if (!BytesOf(info[3], keyText, key, keySize, keyNull)) {
    return Throw(Napi::TypeError::New(env, "produce: key must be a Uint8Array, a string or null"));
  }
  if (!IsWhole(info[4], 0, 9007199254740991.0)) return Throw(Napi::RangeError::New(env, "produce: timestamp must be a whole number of ms, 0 or more"));
  if (!info[5].IsArray() || !info[6].IsArray()) return Throw(Napi::TypeError::New(env, "produce: headerNames and headerValues must be arrays"));
  auto names = info[5].As<Napi::Array>();
  auto values = info[6].As<Napi::Array>();
  if (names.Length() != values.Length()) {
    return Throw(Napi::RangeError::New(env, "produce: headerNames and headerValues must be as long as each other"));
  }
  if (!info[7].IsNumber()) return Throw(Napi::TypeError::New(env, "produce: token must be a number"));
  std::string id = info[0].As<Napi::String>().Utf8Value();
  std::string topic = info[1].As<Napi::String>().Utf8Value();
  int64_t timestamp = static_cast<int64_t>(info[4].As<Napi::Number>().DoubleValue());
  Sending sending{nullptr, info[7].As<Napi::Number>().DoubleValue()};

  rd_kafka_headers_t *headers = rd_kafka_headers_new(names.Length());
  for (uint32_t i = 0; i < names.Length(); i++) {
    Napi::Value name = names[i];
    std::string text;
    const uint8_t *data = nullptr;
    size_t size = 0;
    bool isNull = false;
    if (!name.IsString() || !BytesOf(values[i], text, data, size, isNull) || isNull) {
      rd_kafka_headers_destroy(headers);
      return Throw(Napi::TypeError::New(env, "produce: header " + std::to_string(i) +
                                                 " must have a string name and a Uint8Array or string value"));
    }
    std::string nameText = name.As<Napi::String>().Utf8Value();
    rd_kafka_header_add(headers, nameText.data(), static_cast<ssize_t>(nameText.size()), data, static_cast<ssize_t>(size));
  }

  rd_kafka_resp_err_t err;
  {
    // Held while producing: the client cannot be destroyed under the call (on_destroy takes it).
    std::lock_guard<std::mutex> lock(registry().mu);
    auto it = registry().byId.find(id);
    if (it == registry().byId.end() || !it->second->acks || !it->second->acks->attached) {
      rd_kafka_headers_destroy(headers);
      return Throw(Napi::Error::New(env, "produce: no producer with a delivery function is registered as " + id));
    }
    sending.acks = it->second->acks.get();
    tSending = &sending;
    err = rd_kafka_producev(it->second->rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_VALUE(valueNull ? nullptr : const_cast<uint8_t *>(value), valueNull ? 0 : valueSize),
                            RD_KAFKA_V_KEY(keyNull ? nullptr : key, keyNull ? 0 : keySize), RD_KAFKA_V_TIMESTAMP(timestamp),
                            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    tSending = nullptr;
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Refused before librdkafka took the headers. (When no partition took it, its acknowledgement
    // has already been queued; the caller, told here, no longer waits for that token.)
    rd_kafka_headers_destroy(headers);
    Napi::Error error = Napi::Error::New(env, std::string("produce: ") + rd_kafka_err2str(err));
    error.Set("code", Napi::Number::New(env, err));
    return Throw(error);
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("librdkafka", Napi::String::New(env, rd_kafka_version_str()));
  exports.Set("consume", Napi::Function::New<Consume>(env, "consume"));
  exports.Set("release", Napi::Function::New<Release>(env, "release"));
  exports.Set("attach", Napi::Function::New<Attach>(env, "attach"));
  exports.Set("produce", Napi::Function::New<Produce>(env, "produce"));
  return exports;
}

}  // namespace

// librdkafka's entry point into a plugin, found by name when 'plugin.library.paths' loads this file.
extern "C" __attribute__((visibility("default"))) rd_kafka_resp_err_t conf_init(rd_kafka_conf_t *conf, void **plug_opaquep,
                                                                                 char *, size_t) {
  *plug_opaquep = nullptr;
  InstallConfInterceptors(conf, "");
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)

#include "tiermirror/protocol/messages/init_producer_id.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {

void InitProducerIdRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.nullable_string(transactional_id);
  w.i32(transaction_timeout_ms);
  w.empty_tagged_fields();
}

InitProducerIdRequest InitProducerIdRequest::decode(Reader& r, int16_t version) {
  InitProducerIdRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.transactional_id = r.nullable_string("transactional_id");
  m.transaction_timeout_ms = r.i32("transaction_timeout_ms");
  r.tagged_fields("tagged_fields");
  return m;
}

void InitProducerIdResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.i32(throttle_time_ms);
  w.i16(error_code);
  w.i64(producer_id);
  w.i16(producer_epoch);
  w.empty_tagged_fields();
}

InitProducerIdResponse InitProducerIdResponse::decode(Reader& r, int16_t version) {
  InitProducerIdResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.throttle_time_ms = r.i32("throttle_time_ms");
  m.error_code = r.i16("error_code");
  m.producer_id = r.i64("producer_id");
  m.producer_epoch = r.i16("producer_epoch");
  r.tagged_fields("tagged_fields");
  return m;
}

}  // namespace tiermirror::protocol

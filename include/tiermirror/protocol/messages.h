#pragma once
// Every request/response pair tiermirror speaks, with encode and decode for each
// version in supported_versions() (api.h). Field order and version gates follow Apache
// Kafka's message schemas (clients/src/main/resources/common/message/*.json).
#include "tiermirror/protocol/messages/api_versions.h"
#include "tiermirror/protocol/messages/fetch.h"
#include "tiermirror/protocol/messages/find_coordinator.h"
#include "tiermirror/protocol/messages/init_producer_id.h"
#include "tiermirror/protocol/messages/list_offsets.h"
#include "tiermirror/protocol/messages/metadata.h"
#include "tiermirror/protocol/messages/offset_commit.h"
#include "tiermirror/protocol/messages/offset_fetch.h"
#include "tiermirror/protocol/messages/produce.h"
#include "tiermirror/protocol/messages/sasl_authenticate.h"
#include "tiermirror/protocol/messages/sasl_handshake.h"

#pragma once
// Everything in one include.
#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/event_batch.hpp"
#include "evlib/metadata.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "evlib/summary.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"

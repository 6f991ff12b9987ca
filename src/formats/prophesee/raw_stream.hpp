#pragma once
// Opening a RAW file of any EVT encoding, the same way for each: the header into metadata (with
// the caller's overrides), the decoder settings from it, a word-stream reader over the payload.
#include <memory>
#include <utility>
#include <vector>

#include "formats/prophesee/evt3.hpp"  // WordDecoderConfig
#include "formats/prophesee/prophesee_header.hpp"
#include "io/word_stream_reader.hpp"

namespace evlib::detail {

// make_decoder(const WordDecoderConfig&, const RawEncoding&) returns the decoder of `encoding`.
template <class MakeDecoder>
std::unique_ptr<FormatReader> open_raw_stream(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>& prefix,
                                              const ReadOptions& options, Metadata& metadata, const char* encoding,
                                              MakeDecoder&& make_decoder) {
  const RawEncoding enc = open_raw_header(source->path(), prefix, options, metadata, encoding);
  WordDecoderConfig config;
  config.width = enc.width != 0 ? enc.width : 2048;  // no geometry stated: the 11-bit address range
  config.height = enc.height != 0 ? enc.height : 2048;
  config.metavision_time_shift = options.metavision_time_shift;
  config.filter = options.filter;
  config.stream_offset = metadata.data_offset;
  auto decoder = make_decoder(config, enc);
  return std::make_unique<WordStreamReader<decltype(decoder)>>(std::move(source), metadata.data_offset, std::move(decoder),
                                                               options.strict);
}

}  // namespace evlib::detail

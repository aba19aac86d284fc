#include "control/control.h"

#include <gtest/gtest.h>

namespace ferry::control {
namespace {

using nlohmann::json;

std::string payload_of(Expected<std::optional<std::string>> next) {
  EXPECT_TRUE(next.has_value());
  EXPECT_TRUE(next.has_value() && next->has_value());
  return next && *next ? **next : std::string("<none>");
}

TEST(CodecTest, FrameIsBigEndianLengthThenPayload) {
  auto frame = encode_frame("{}");
  ASSERT_TRUE(frame);
  EXPECT_EQ(*frame, std::string("\0\0\0\x02{}", 6));
  std::string big(0x010203, 'x');
  auto large = encode_frame(big);
  ASSERT_TRUE(large);
  EXPECT_EQ(large->substr(0, 4), std::string("\x00\x01\x02\x03", 4));
}

TEST(CodecTest, DecoderReassemblesSplitFramesAndSeveralInOneRead) {
  std::string stream = *encode_frame("first") + *encode_frame("") + *encode_frame("third");
  FrameDecoder decoder;
  std::vector<std::string> payloads;
  for (char c : stream) {  // one byte at a time: the worst split
    decoder.feed(std::string_view(&c, 1));
    while (auto next = decoder.next()) {
      if (!*next) break;
      payloads.push_back(**next);
    }
  }
  EXPECT_EQ(payloads, (std::vector<std::string>{"first", "", "third"}));
  EXPECT_EQ(decoder.buffered(), 0u);

  FrameDecoder whole;
  whole.feed(stream);
  EXPECT_EQ(payload_of(whole.next()), "first");
  EXPECT_EQ(payload_of(whole.next()), "");
  EXPECT_EQ(payload_of(whole.next()), "third");
  auto none = whole.next();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(CodecTest, OversizedFramesAreRefusedBothWays) {
  auto encoded = encode_frame(std::string(kMaxFrameBytes + 1, 'x'));
  ASSERT_FALSE(encoded);
  EXPECT_EQ(encoded.error().code, Errc::invalid_argument);
  EXPECT_EQ(encoded.error().message, "control frame of 16777217 bytes exceeds the limit of 16777216 bytes (16 MiB)");
  EXPECT_TRUE(encode_frame(std::string(kMaxFrameBytes, 'x')));

  FrameDecoder decoder;
  decoder.feed(std::string("\x01\x00\x00\x01", 4));  // 16 MiB + 1 announced
  auto next = decoder.next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, Errc::corrupt);
  EXPECT_EQ(next.error().message, "control frame of 16777217 bytes exceeds the limit of 16777216 bytes (16 MiB)");
}

TEST(CodecTest, PayloadMustBeAJsonObject) {
  EXPECT_EQ(parse_payload("{\"a\":1}").value()["a"], 1);
  auto garbage = parse_payload("{not json");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, Errc::corrupt);
  EXPECT_EQ(garbage.error().message, "control message is not valid JSON");
  EXPECT_EQ(parse_payload("[1,2]").error().message, "control message is not a JSON object");
}

TEST(CodecTest, InvalidUtf8IsRefusedNotThrown) {
  auto encoded = encode_message(json{{"name", std::string("\xff\xfe")}});
  ASSERT_FALSE(encoded);
  EXPECT_EQ(encoded.error().code, Errc::invalid_argument);
}

TEST(CodecTest, RequestRoundTrip) {
  RequestHeader sent{7, "object.apply", json{{"file", "a.yaml"}}, 2};
  json message = request_message(sent);
  EXPECT_EQ(message, json::parse(R"({"protocol":1,"id":7,"command":"object.apply","args":{"file":"a.yaml"},"fds":2})"));
  auto payload = parse_payload(payload_of([&] {
    FrameDecoder d;
    d.feed(*encode_message(message));
    return d.next();
  }()));
  ASSERT_TRUE(payload);
  auto received = parse_request(*payload);
  ASSERT_TRUE(received) << received.error().message;
  EXPECT_EQ(received->id, 7u);
  EXPECT_EQ(received->command, "object.apply");
  EXPECT_EQ(received->args, sent.args);
  EXPECT_EQ(received->fds, 2u);
}

TEST(CodecTest, RequestDefaultsArgsAndFds) {
  auto request = parse_request(json::parse(R"({"protocol":1,"id":1,"command":"status"})"));
  ASSERT_TRUE(request);
  EXPECT_EQ(request->args, json::object());
  EXPECT_EQ(request->fds, 0u);
}

TEST(CodecTest, MalformedRequestsAreInvalidArgument) {
  auto expect_error = [](const char* text, const std::string& message) {
    auto request = parse_request(json::parse(text));
    ASSERT_FALSE(request) << text;
    EXPECT_EQ(request.error().code, Errc::invalid_argument) << text;
    EXPECT_EQ(request.error().message, message) << text;
  };
  expect_error(R"({"id":1,"command":"status"})", "control message has no \"protocol\" version");
  expect_error(R"({"protocol":1,"command":"status"})", "control request has no numeric \"id\"");
  expect_error(R"({"protocol":1,"id":-1,"command":"status"})", "control request has no numeric \"id\"");
  expect_error(R"({"protocol":1,"id":1})", "control request has no \"command\"");
  expect_error(R"({"protocol":1,"id":1,"command":"x","args":[1]})", "control request \"args\" is not an object");
  expect_error(R"({"protocol":1,"id":1,"command":"x","fds":"2"})", "control request \"fds\" is not a count");
  expect_error(R"({"protocol":1,"id":1,"command":"x","fds":251})",
               "control request declares 251 file descriptors; at most 250 may travel with one request");
}

TEST(CodecTest, NewerFerryctlIsToldToUpgradeFerryd) {
  auto request = parse_request(json::parse(R"({"protocol":2,"id":1,"command":"status"})"));
  ASSERT_FALSE(request);
  EXPECT_EQ(request.error().code, Errc::unavailable);
  EXPECT_EQ(request.error().message,
            "ferryctl speaks control protocol 2 and ferryd speaks 1: upgrade ferryd so both match");
}

TEST(CodecTest, NewerFerrydIsReportedByTheClient) {
  auto reply = parse_reply(json::parse(R"({"protocol":2,"id":1,"ok":true,"result":{}})"));
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, Errc::unavailable);
  EXPECT_EQ(reply.error().message,
            "ferryctl speaks control protocol 1 and ferryd speaks 2: upgrade ferryctl so both match");
  EXPECT_EQ(protocol_mismatch_message(0, 1),
            "ferryctl speaks control protocol 0 and ferryd speaks 1: upgrade ferryctl so both match");
}

TEST(CodecTest, ReplyKinds) {
  auto result = parse_reply(result_message(3, json{{"n", 1}}));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->kind, ReplyKind::result);
  EXPECT_EQ(result->id, 3u);
  EXPECT_EQ(result->result, json({{"n", 1}}));

  json event = event_message(3, json{{"event", "progress"}, {"done", 2}});
  EXPECT_EQ(event, json::parse(R"({"id":3,"event":"progress","done":2})"));
  auto parsed_event = parse_reply(event);
  ASSERT_TRUE(parsed_event);
  EXPECT_EQ(parsed_event->kind, ReplyKind::event);
  EXPECT_EQ(parsed_event->event, event);

  json error = error_message(3, Error{Errc::permission_denied, "permission denied: no"});
  EXPECT_EQ(
      error,
      json::parse(
          R"({"protocol":1,"id":3,"ok":false,"error":{"code":"permission_denied","message":"permission denied: no"}})"));
  auto parsed_error = parse_reply(error);
  ASSERT_TRUE(parsed_error);
  EXPECT_EQ(parsed_error->kind, ReplyKind::error);
  EXPECT_EQ(parsed_error->error.code, Errc::permission_denied);
  EXPECT_EQ(parsed_error->error.message, "permission denied: no");
}

TEST(CodecTest, MissingResultIsAnEmptyObject) {
  auto reply = parse_reply(json::parse(R"({"protocol":1,"id":1,"ok":true})"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->result, json::object());
}

TEST(CodecTest, MalformedRepliesAreCorrupt) {
  EXPECT_EQ(parse_reply(json::parse(R"({"protocol":1,"ok":true})")).error().code, Errc::corrupt);
  EXPECT_EQ(parse_reply(json::parse(R"({"protocol":1,"id":1})")).error().code, Errc::corrupt);
  EXPECT_EQ(parse_reply(json::parse(R"({"protocol":1,"id":1,"ok":false})")).error().code, Errc::corrupt);
  EXPECT_EQ(parse_reply(json::parse(R"({"id":1,"event":5})")).error().code, Errc::corrupt);
}

TEST(CodecTest, UnknownErrorCodeFromANewerDaemonBecomesInternal) {
  auto reply = parse_reply(json::parse(R"({"protocol":1,"id":1,"ok":false,"error":{"code":"quota","message":"m"}})"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->error.code, Errc::internal);
  EXPECT_EQ(reply->error.message, "m");
}

TEST(CodecTest, EveryErrcParsesBack) {
  for (Errc code : {Errc::invalid_argument, Errc::not_found, Errc::conflict, Errc::permission_denied, Errc::io,
                    Errc::corrupt, Errc::unavailable, Errc::cancelled, Errc::internal}) {
    EXPECT_EQ(parse_errc(to_string(code)), code);
  }
  EXPECT_EQ(parse_errc("nope"), std::nullopt);
}

}  // namespace
}  // namespace ferry::control
